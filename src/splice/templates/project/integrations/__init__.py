"""This project's integrations: every module here is imported by splice."""
