"""Heartbeats and recovery: a worker that goes silent has its jobs finished by the others.

DBOS recovers a workflow only for the executor id it ran under, and by default only when a
process with that id starts again; a worker that dies for good (its machine gone) would leave
its jobs pending forever. So every worker beats in the store, and every
``timeout / 3`` seconds looks for workers that are gone (:meth:`WorkerStore.gone`): silent for
longer than ``timeout``, stopped cleanly, or, on its own host, whose process no longer
exists. It claims each (one conditional update: exactly one claimant wins), fails the lost
worker's unfinished runs with ``WORKER_LOST`` (those attempts are over), then asks the engine
to run the lost worker's jobs again (:func:`splice._engine._dbos.recover`): a sync's next
attempt resumes from its last checkpoint, a flow from its first unfinished step.

A worker that finds itself declared lost while still running (it was paused longer than the
timeout, its database unreachable) stops at once: its jobs already run elsewhere, and going
on could run one twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable

from splice._runtime.spawner import alive
from splice.store import Store

logger = logging.getLogger("splice.worker")


class Liveness:
    """One worker's heartbeat and its watch over the others."""

    def __init__(
        self,
        store: Store,
        worker_id: str,
        *,
        timeout: float,
        abandon: Callable[[str], Awaitable[int]],
        recover: Callable[[str], Awaitable[int]],
    ) -> None:
        """``abandon(worker_id)`` fails a lost worker's unfinished runs; ``recover(worker_id)`` has
        the engine run its jobs again; each returns how many."""
        self.store = store
        self.worker_id = worker_id
        self.timeout = timeout
        self.interval = max(0.2, timeout / 3)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._abandon = abandon
        self._recover = recover
        #: another worker declared this one lost: its jobs run elsewhere
        self.lost = False

    async def beat(self) -> bool:
        """Heartbeat now; False when this worker was declared lost (it must stop)."""
        return await self.store.workers.beat(self.worker_id, self.host, self.pid)

    async def recover_lost(self) -> list[str]:
        """Claim every worker that is gone and recover its jobs; the ids recovered."""
        recovered = []
        for worker in await self.store.workers.gone(self.timeout, host=self.host, alive=alive):
            if worker.id == self.worker_id or not await self.store.workers.claim(worker, self.worker_id):
                continue
            runs = await self._abandon(worker.id)
            jobs = await self._recover(worker.id)
            logger.warning("worker %s (%s pid %d) is %s: %d runs failed as WORKER_LOST, %d jobs run again here",
                           worker.id, worker.host, worker.pid, "stopped" if worker.status == "stopped" else "lost",
                           runs, jobs)  # fmt: skip
            recovered.append(worker.id)
        return recovered

    async def run(self, on_lost: Callable[[], None]) -> None:
        """Beat and watch until cancelled; call ``on_lost`` (and return) when this worker was declared lost."""
        while True:
            try:
                if not await self.beat():
                    logger.error("worker %s was declared lost by another worker (silent for more than %gs): "
                                 "its jobs run elsewhere now; stopping", self.worker_id, self.timeout)  # fmt: skip
                    self.lost = True
                    on_lost()
                    return
                await self.recover_lost()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away for a moment: try again next time
                logger.warning("heartbeat of worker %s failed", self.worker_id, exc_info=True)
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        """A clean stop: another worker recovers this one's unfinished jobs at once."""
        await self.store.workers.stop(self.worker_id)
