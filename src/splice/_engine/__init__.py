"""Durable execution of jobs (sync runs, background actions) and the sync scheduler.

``_dbos`` is the only module that touches the engine library; ``scheduler`` decides what is
due; ``worker`` runs both in a process (``splice serve`` / ``splice worker``).
"""
