"""``rt.runs``: the run history and its logs."""

from __future__ import annotations

from typing import Any

from splice.store import LogRecord, RunRecord, Store


class Runs:
    """Stored runs and their log lines; running scripts is :meth:`Runtime.run`'s job."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, run_id: str) -> RunRecord:
        return await self.store.runs.get(run_id)

    async def find(self, **filters: Any) -> list[RunRecord]:
        """Newest first; filters as :meth:`splice.store.RunStore.find` takes them."""
        return await self.store.runs.find(**filters)

    async def logs(self, **filters: Any) -> list[LogRecord]:
        """Log lines; filters as :meth:`splice.store.RunStore.search_logs` takes them."""
        return await self.store.runs.search_logs(**filters)
