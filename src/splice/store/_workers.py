"""Workers' heartbeats: who is alive, and who went silent and must have its jobs recovered.

Every worker process writes ``heartbeat_at`` every few seconds (:meth:`WorkerStore.beat`). A
live worker looks for workers that are *gone* — silent for longer than the timeout, stopped
cleanly, or (on its own host) whose process no longer exists — and *claims* each one with a
single conditional update (:meth:`WorkerStore.claim`), so exactly one live worker recovers a
lost worker's jobs however many look at once, on SQLite and PostgreSQL alike. A worker that
finds itself claimed while still running (it was paused longer than the timeout) must stop:
its jobs are being run elsewhere (:meth:`WorkerStore.beat` says so).

Times are the workers' clocks: keep machines NTP-synced and the timeout well above any skew.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from splice.store._engine import Database
from splice.store._schema import utcnow, workers

_W = workers.c
ALIVE, STOPPED, LOST = "alive", "stopped", "lost"
#: lost and stopped workers' rows are kept this long for ``splice workers``, then deleted
KEEP = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    id: str
    host: str
    pid: int
    status: str
    started_at: datetime
    heartbeat_at: datetime
    lost_at: datetime | None = None
    recovered_by: str | None = None


class WorkerStore:
    """``store.workers``: heartbeats, and claiming the workers that are gone."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def beat(self, worker_id: str, host: str, pid: int) -> bool:
        """Record that ``worker_id`` is alive now; False when another worker has declared it lost
        since its last beat (its jobs are being recovered: it must stop running them).

        The first beat of a process registers it (a worker restarted under the same ``--id``
        is alive again, whatever its row said).
        """
        now = utcnow()
        async with self._db.write() as conn:
            row = (await conn.execute(sa.select(_W.status, _W.pid, _W.host).where(_W.id == worker_id))).first()
            if row is not None and row.status == LOST and (row.pid, row.host) == (pid, host):
                return False
            if row is None:
                await conn.execute(workers.insert().values(
                    id=worker_id, host=host, pid=pid, status=ALIVE, started_at=now, heartbeat_at=now,
                ))  # fmt: skip
            else:
                fresh = (row.pid, row.host) != (pid, host) or row.status != ALIVE
                values = {"heartbeat_at": now, "status": ALIVE, "host": host, "pid": pid}
                if fresh:
                    values |= {"started_at": now, "lost_at": None, "recovered_by": None}
                await conn.execute(workers.update().where(_W.id == worker_id).values(**values))
        return True

    async def stop(self, worker_id: str) -> None:
        """A clean stop: the worker's unfinished jobs go to the others at once, not after the timeout."""
        async with self._db.write() as conn:
            await conn.execute(workers.update().where(_W.id == worker_id, _W.status == ALIVE).values(status=STOPPED))

    async def gone(
        self, timeout: float, *, host: str, alive: Callable[[int], bool] | None = None
    ) -> list[WorkerRecord]:
        """Workers to recover: silent for more than ``timeout`` seconds, stopped, or on ``host``
        with a pid for which ``alive`` says no (the caller can see its own host's processes)."""
        cutoff = utcnow() - timedelta(seconds=timeout)
        query = sa.select(workers).where(_W.status.in_((ALIVE, STOPPED)))
        async with self._db.read() as conn:
            rows = [WorkerRecord(**r._mapping) for r in (await conn.execute(query)).all()]
        return [
            r for r in rows
            if r.status == STOPPED or r.heartbeat_at < cutoff or (alive is not None and r.host == host
                                                                   and not alive(r.pid))
        ]  # fmt: skip

    async def claim(self, worker: WorkerRecord, by: str) -> bool:
        """Declare ``worker`` lost on behalf of ``by``; True for the one caller that did.

        The update is conditional on the row being as read (same heartbeat and status), so a
        worker that beat again in between is not declared lost, and of several claimants
        exactly one wins.
        """
        stmt = (
            workers.update()
            .where(_W.id == worker.id, _W.status == worker.status, _W.heartbeat_at == worker.heartbeat_at)
            .values(status=LOST, lost_at=utcnow(), recovered_by=by)
        )
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def list(self) -> list[WorkerRecord]:
        """Every worker known, newest heartbeat first (lost and stopped ones for a day)."""
        async with self._db.write() as conn:
            await conn.execute(workers.delete().where(_W.status != ALIVE, _W.heartbeat_at < utcnow() - KEEP))
        async with self._db.read() as conn:
            rows = (await conn.execute(sa.select(workers).order_by(_W.heartbeat_at.desc()))).all()
        return [WorkerRecord(**r._mapping) for r in rows]
