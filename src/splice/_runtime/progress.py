"""A running sync's progress: pages fetched (successful requests), all requests, records stored, rate.

Stored on the run every :data:`INTERVAL` seconds, so ``splice syncs trigger --wait`` in
another process (or the REST API later) can show it, and handed to a live callback for
``splice run``. The counts come from the run's gateway, which sees every request and
every record write, so the script needs to do nothing for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from splice._runtime.gateway import RunGateway
    from splice.store import Store

#: seconds between two progress reports
INTERVAL = 1.0


class Progress:
    """Reports a sync run's progress until :meth:`stop`, which reports the final figures."""

    def __init__(
        self, store: Store, run_id: str, gateway: RunGateway, on_progress: Callable[[dict[str, Any]], None] | None
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.gateway = gateway
        self.on_progress = on_progress
        self.started = time.monotonic()
        self._task = asyncio.create_task(self._every())

    def snapshot(self) -> dict[str, Any]:
        writer = self.gateway.scope.records
        counts = {} if writer is None else writer.counts
        records = sum(c["added"] + c["updated"] + c["unchanged"] for c in counts.values())
        elapsed = time.monotonic() - self.started
        return {
            "pages": self.gateway.pages,
            "requests": self.gateway.requests,
            "records": records,
            "elapsed_s": round(elapsed, 1),
            "records_per_s": round(records / elapsed) if elapsed > 0 else 0,
        }

    async def _every(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL)
            await self._report()

    async def _report(self) -> dict[str, Any]:
        snapshot = self.snapshot()
        await self.store.runs.set_progress(self.run_id, snapshot)
        if self.on_progress is not None:
            self.on_progress(snapshot)
        return snapshot

    async def stop(self) -> dict[str, Any]:
        """Stop reporting; report and return the final figures."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        return await self._report()
