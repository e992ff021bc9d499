"""``rt.syncs``: list, trigger, pause, resume, reschedule and reset syncs per connection.

Everything here acts on one sync × connection and on the plan the scheduler follows (the
``sync_schedules`` table); running is the worker's job (``splice serve`` / ``splice worker``),
which :meth:`Syncs.trigger` queues for.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from splice._engine.jobs import JobQueue
from splice._runtime.kinds import kind_of, sync_lock
from splice.errors import Conflict
from splice.integration import Script
from splice.project import Project
from splice.schedule import Schedule
from splice.store import Connection, Store, Stream, SyncSchedule

if TYPE_CHECKING:
    from splice._runtime.versions import Versions


def effective_schedule(declared: Schedule | None, row: SyncSchedule | None) -> Schedule | None:
    """The connection's override when it has one, else the declared schedule (a sync's, a flow's)."""
    if row is not None and row.every_seconds is not None:
        return Schedule(every=timedelta(seconds=row.every_seconds))
    if row is not None and row.cron is not None:
        return Schedule(cron=row.cron)
    return declared


def next_run(declared: Schedule | None, row: SyncSchedule | None, now: datetime) -> datetime | None:
    """When this sync (or flow) × connection runs next; None when paused or it has no schedule."""
    schedule = effective_schedule(declared, row)
    if schedule is None or (row is not None and row.paused):
        return None
    if row is None or row.last_scheduled_at is None:
        return now
    if row.next_run_at is not None:
        return row.next_run_at
    return schedule.next_after(row.last_scheduled_at)


class Syncs:
    """Sync control of one project (``rt.syncs``); ``jobs`` gives the job queue when first needed."""

    def __init__(self, versions: Versions, store: Store, jobs: Callable[[], JobQueue]) -> None:
        self.versions = versions
        self.store = store
        self._jobs = jobs

    @property
    def project(self) -> Project:
        """The project's current version: its syncs are the ones listed and scheduled."""
        return self.versions.project

    async def list(self, integration: str | None = None) -> list[dict[str, Any]]:
        """Every sync × connection: schedule, paused, last run, next run and record counts per model."""
        if integration is not None:
            self.project.integration(integration)
        now = datetime.now(UTC)
        store = self.store
        plans = {(r.integration, r.sync, r.connection_id): r for r in await store.schedules.find(integration)}
        rows: list[dict[str, Any]] = []
        for script in self.project.syncs():
            name = script.integration.name
            if integration is not None and name != integration:
                continue
            for conn in await store.connections.find(name):
                rows.append(await self._row(script, conn, plans.get((name, script.name, conn.id)), now))
        return rows

    async def status(self, sync: str, connection: str) -> dict[str, Any]:
        """One sync × connection, as :meth:`list` shows it."""
        script = self.project.sync(sync)
        conn = await self.store.connections.get(script.integration.name, connection)
        plan = await self.store.schedules.get(script.integration.name, script.name, connection)
        return await self._row(script, conn, plan, datetime.now(UTC))

    async def _row(self, script: Script, conn: Connection, plan: SyncSchedule | None, now: datetime) -> dict[str, Any]:
        store, name = self.store, script.integration.name
        runs = await store.runs.find(integration=name, script=script.name, connection_id=conn.id, limit=1)
        counts = {m.__name__: await store.records.count(Stream(name, conn.id, m.__name__)) for m in script.models}
        schedule = effective_schedule(script.schedule, plan)
        due = next_run(script.schedule, plan, now) if conn.status != "error" else None
        return {
            "sync": script.qualname, "connection": conn.id,
            "schedule": schedule.describe() if schedule else None,
            "overridden": plan is not None and (plan.every_seconds is not None or plan.cron is not None),
            "paused": plan is not None and plan.paused,
            "connection_status": conn.status,
            "last_run": None if not runs else {
                "id": runs[0].id, "status": runs[0].status, "attempt": runs[0].attempt,
                "started_at": runs[0].started_at.isoformat() if runs[0].started_at else None,
                "finished_at": runs[0].finished_at.isoformat() if runs[0].finished_at else None,
                "progress": runs[0].progress,
            },
            "next_run": due.isoformat() if due else None,
            "records": counts,
        }  # fmt: skip

    async def trigger(self, sync: str, connection: str) -> str:
        """Queue a run of ``sync`` for ``connection`` now; returns the job id.

        A worker (``splice serve`` / ``splice worker``) runs it. Raises :class:`Conflict`
        (``SYNC_RUNNING``) when that sync is already queued or running for the connection;
        triggering a paused sync runs it once and leaves it paused.
        """
        script = self.project.sync(sync)
        await self.store.connections.get(script.integration.name, connection)
        dedup = kind_of(script).job_dedup(script, connection)
        return await self._jobs().enqueue(script.qualname, connection, None, dedup=dedup)

    async def pause(self, sync: str, connection: str | None = None) -> list[str]:
        """Stop scheduling ``sync`` (for one connection, or all); returns the connections paused."""
        return await self._set_paused(sync, connection, True)

    async def resume(self, sync: str, connection: str | None = None) -> list[str]:
        """Schedule a paused sync again; it runs at its next slot."""
        return await self._set_paused(sync, connection, False)

    async def _set_paused(self, sync: str, connection: str | None, paused: bool) -> list[str]:
        script = self.project.sync(sync)
        name = script.integration.name
        if connection is not None:
            ids = [(await self.store.connections.get(name, connection)).id]
        else:
            ids = [c.id for c in await self.store.connections.find(name)]
        for conn_id in ids:
            await self.store.schedules.set_paused(name, script.name, conn_id, paused)
            if not paused:
                await self.store.schedules.set_next_run(name, script.name, conn_id, None)
        return ids

    async def schedule(
        self, sync: str, connection: str, *, every: str | None = None, cron: str | None = None
    ) -> dict[str, Any]:
        """Override when ``sync`` runs for one connection; neither ``every`` nor ``cron`` restores the declared one."""
        script = self.project.sync(sync)
        name = script.integration.name
        await self.store.connections.get(name, connection)
        every_seconds = None
        if every is not None or cron is not None:
            schedule = Schedule.parse(every=every, cron=cron)
            every_seconds = int(schedule.every.total_seconds()) if schedule.every else None
            cron = schedule.cron
        await self.store.schedules.set_override(name, script.name, connection, every_seconds=every_seconds, cron=cron)
        return await self.status(script.qualname, connection)

    async def reset(self, sync: str, connection: str) -> dict[str, Any]:
        """Forget what ``sync`` stored for ``connection``: its checkpoint and its models' records.

        The next run starts from scratch (a full sync). Refused while the sync runs; cursors
        readers hold from before are refused afterwards (``INVALID_CURSOR``), so they start over.
        Records of a model that another sync also writes are cleared too.
        """
        script = self.project.sync(sync)
        name = script.integration.name
        conn = await self.store.connections.get(name, connection)
        async with self.store.locks.lease(sync_lock(script, conn), f"reset-{uuid.uuid4().hex}") as ours:
            if not ours:
                raise Conflict(
                    f"{script.qualname} is running for connection {connection}; it cannot be reset now",
                    code="SYNC_RUNNING",
                    hint="pause it, wait for the run to end, then reset",
                )
            deleted = await self.store.records.reset(name, connection, [m.__name__ for m in script.models])
            cleared = await self.store.checkpoints.clear(name, connection, script.name)
        return {"sync": script.qualname, "connection": connection, "records_deleted": deleted,
                "checkpoint_cleared": bool(cleared)}  # fmt: skip
