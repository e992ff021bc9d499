"""``rt.runs``: the run history and its logs.

Every method that takes a run id takes its short form too: the last 8 characters that
``splice logs`` and ``splice runs list`` print (see :meth:`splice.store.RunStore.resolve`).

>>> run = await rt.runs.get("1f8e45bb")          # the one run whose id ends so
>>> attempts = await rt.runs.attempts(run.job_id) # every attempt of its job, newest first
"""

from __future__ import annotations

from typing import Any

from splice.errors import NotFound
from splice.store import LogRecord, RunError, RunRecord, Store

#: more attempts than any job makes (``retries`` is small), so one page holds them all
MAX_ATTEMPTS = 1000


class Runs:
    """Stored runs and their log lines; running scripts is :meth:`Runtime.run`'s job."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, run_id: str, **scope: Any) -> RunRecord:
        """One run by its id, whole or short; ``scope`` (``integrations=``, ``connection_ids=``)
        hides runs outside it, as :meth:`splice.store.RunStore.find` does."""
        return await self.store.runs.get(run_id, **scope)

    async def find(self, **filters: Any) -> list[RunRecord]:
        """Newest first; filters as :meth:`splice.store.RunStore.find` takes them."""
        return await self.store.runs.find(**filters)

    async def attempts(self, job_id: str, **scope: Any) -> list[RunRecord]:
        """Every attempt (run) of a queued job, newest first; :class:`NotFound` before its first.

        A job gets a run when a worker starts it, so a job id that names no run is either
        still queued or not a job id at all: the error says both.
        """
        runs = await self.store.runs.find(job_id=job_id, limit=MAX_ATTEMPTS, **scope)
        if not runs:
            raise NotFound(
                f"no run of job {job_id!r} yet",
                details={"job_id": job_id},
                hint="a queued job's first run starts when `splice serve` or `splice worker` picks it up; "
                "check the job id that `splice run --background` printed",
                hints={
                    "rest": "a queued job's first run starts when a worker picks it up; check the job_id "
                    'that POST /actions answered with "wait": false'
                },
            )
        return runs

    async def logs(self, **filters: Any) -> list[LogRecord]:
        """Log lines; filters as :meth:`splice.store.RunStore.search_logs` takes them."""
        return await self.store.runs.search_logs(**filters)

    async def errors(self, run_id: str, *, status: str | None = None, **scope: Any) -> list[RunError]:
        """The records an export or import run could not process, each with its retry data."""
        run = await self.store.runs.get(run_id, **scope)
        return await self.store.run_errors.list(run.id, status=status)
