"""Acme CRM, a fake third-party SaaS API for splice's tests, benchmarks and ``splice demo``."""
