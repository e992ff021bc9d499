"""The scheduler: enqueue every sync × connection whose next run is due.

Why our own loop and not DBOS's schedules: splice needs what a user sees in
``splice syncs list`` — the next run of each sync × connection, paused ones, per-connection
overrides, ``every=`` intervals cron cannot express — and all of it must follow connections
as they come and go. So the plan lives in the ``sync_schedules`` table, cron expressions are
iterated by croniter (:class:`~splice.schedule.Schedule`), and a due sync becomes a DBOS job
like any other trigger. One scheduler at a time is the leader (a lease in the store); others
stand by, so ``splice serve`` can run on several machines.

A sync × connection that has never run is due at once (its initial sync); afterwards it is
due one period after it was last scheduled. A run still going when the next is due is not
started twice: the job queue refuses it and the scheduler moves on to the following slot.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from splice.errors import Conflict, SpliceError
from splice.integration import Script
from splice.project import Project
from splice.schedule import Schedule
from splice.services.flows import FLOW_KEY, Flows
from splice.services.syncs import Syncs, effective_schedule, next_run
from splice.store import Store

logger = logging.getLogger("splice.scheduler")
LEADER_LOCK = "scheduler:leader"


class Scheduler:
    """Every ``tick`` seconds: when this process leads, enqueue what is due."""

    def __init__(self, store: Store, syncs: Syncs, flows: Flows, *, tick: float = 1.0) -> None:
        self.store = store
        self.syncs = syncs
        self.flows = flows
        self.tick_seconds = tick
        self.owner = f"scheduler-{uuid.uuid4().hex[:12]}"

    @property
    def project(self) -> Project:
        """The project's current version (the syncs service follows reloads): its syncs are scheduled."""
        return self.syncs.project

    async def run(self) -> None:
        """Tick until cancelled; a failing tick is logged and the next one tries again."""
        while True:
            try:
                await self.tick()
            except SpliceError as exc:
                logger.warning("scheduler tick failed: %s", exc.message)
            await asyncio.sleep(self.tick_seconds)

    async def tick(self, now: datetime | None = None) -> list[tuple[str, str]]:
        """One pass; returns the (sync or flow, connection) pairs it started."""
        store = self.store
        if not await store.locks.acquire(LEADER_LOCK, self.owner, ttl=max(10.0, 5 * self.tick_seconds)):
            return []
        now = now or datetime.now(UTC)
        rows = {(r.integration, r.sync, r.connection_id): r for r in await store.schedules.find()}
        started: list[tuple[str, str]] = []
        for unit in self._units():
            for conn in await store.connections.find(unit.integration):
                if conn.status == "error":
                    continue
                row = rows.get((unit.integration, unit.key, conn.id))
                due = next_run(unit.declared, row, now)
                if due is None:
                    continue
                if due > now:
                    if row is None or row.next_run_at is None:
                        await store.schedules.set_next_run(unit.integration, unit.key, conn.id, due)
                    continue
                if await unit.start(conn.id):
                    started.append((unit.label, conn.id))
                schedule = effective_schedule(unit.declared, row)
                assert schedule is not None
                await store.schedules.mark_scheduled(
                    unit.integration, unit.key, conn.id, at=now, next_run_at=schedule.next_after(now)
                )
        return started

    def _units(self) -> list[Planned]:
        units = [Planned(s.integration.name, s.name, s.qualname, s.schedule, partial(self._start_sync, s))
                 for s in self.project.syncs()]  # fmt: skip
        for flow in self.project.flows():
            if flow.trigger.type == "schedule":
                units.append(Planned(flow.integration, FLOW_KEY + flow.name, flow.id, flow.trigger.schedule,
                                     partial(self.flows.start_scheduled, flow)))  # fmt: skip
        return units

    async def _start_sync(self, script: Script, connection_id: str) -> bool:
        try:
            job = await self.syncs.trigger(script.qualname, connection_id)
        except Conflict:
            logger.info("%s for %s is still running; skipping this slot", script.qualname, connection_id)
            return False
        logger.info("scheduled %s for %s (job %s)", script.qualname, connection_id, job)
        return True


@dataclass(frozen=True, slots=True)
class Planned:
    """Something the scheduler starts per connection: a sync, or a flow with a schedule."""

    integration: str
    #: its row in ``sync_schedules``: the sync's name, or ``flow:<name>``
    key: str
    label: str
    declared: Schedule | None
    start: Callable[[str], Awaitable[bool]]
