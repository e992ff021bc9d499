"""Sync schedules per connection: paused or not, an overriding schedule, when it runs next.

A sync declares its schedule in code (``every="15m"`` or ``cron=...``); this table holds what
is decided per (integration, connection, sync) at run time: an operator pausing it or
overriding its schedule, and the scheduler's own bookkeeping (when it last queued a run and
when the next one is due). A missing row means "not paused, declared schedule, never
scheduled". Every write is one upsert that leaves the columns it is not about alone.

>>> await store.schedules.set_paused("acme", "contacts", "c1", True)
SyncSchedule(integration='acme', sync='contacts', connection_id='c1', paused=True, ...)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from splice.errors import InvalidInput
from splice.schedule import MAX_EVERY, MIN_EVERY, Schedule
from splice.store._checkpoints import check_sync
from splice.store._connections import check_name
from splice.store._engine import Database
from splice.store._schema import sync_schedules, utcnow

_T = sync_schedules.c
_KEY = [_T.integration, _T.connection_id, _T.sync]


@dataclass(frozen=True, slots=True)
class SyncSchedule:
    """What is stored about one sync of one connection (see the module docstring)."""

    integration: str
    sync: str
    connection_id: str
    paused: bool = False
    every_seconds: int | None = None
    cron: str | None = None
    last_scheduled_at: datetime | None = None
    next_run_at: datetime | None = None
    updated_at: datetime | None = None


def _check_key(integration: Any, sync: Any, connection_id: Any) -> None:
    check_name(integration, "integration")
    check_sync(sync)
    check_name(connection_id, "connection_id")


def _check_override(every_seconds: Any, cron: Any) -> None:
    """Refuse an override the scheduler could not follow, before it is stored."""
    if every_seconds is not None and cron is not None:
        raise InvalidInput(
            "a schedule override takes every_seconds or cron, not both",
            code="INVALID_SCHEDULE",
            hint="pass neither to go back to the sync's declared schedule",
        )
    if every_seconds is not None:
        low, high = int(MIN_EVERY.total_seconds()), int(MAX_EVERY.total_seconds())
        if isinstance(every_seconds, bool) or not isinstance(every_seconds, int) or not low <= every_seconds <= high:
            raise InvalidInput(
                f"every_seconds={every_seconds!r} must be a whole number of seconds from {low} to {high}",
                code="INVALID_SCHEDULE",
            )
    if cron is not None:
        Schedule.parse(cron=cron)
        if len(cron) > 255:
            raise InvalidInput("a cron override is limited to 255 characters", code="INVALID_SCHEDULE")


def _row(row: sa.Row[Any]) -> SyncSchedule:
    return SyncSchedule(**row._mapping)


class ScheduleStore:
    """``store.schedules``: pause, override and track the schedule of each connection's syncs."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def _upsert(self, integration: str, sync: str, connection_id: str, **values: Any) -> SyncSchedule:
        """Insert the row with ``values`` (defaults elsewhere) or update only ``values``."""
        values["updated_at"] = utcnow()
        stmt = self._db.insert(sync_schedules).values(
            {"paused": False, **values, "integration": integration, "sync": sync, "connection_id": connection_id}
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=_KEY, set_={name: stmt.excluded[name] for name in values}
        ).returning(*sync_schedules.c)
        async with self._db.write() as conn:
            return _row((await conn.execute(stmt)).one())

    async def get(self, integration: str, sync: str, connection_id: str) -> SyncSchedule | None:
        """The stored row, or ``None`` when nothing was ever stored for this sync."""
        _check_key(integration, sync, connection_id)
        query = sa.select(sync_schedules).where(
            _T.integration == integration, _T.sync == sync, _T.connection_id == connection_id
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _row(row)

    async def find(
        self, integration: str | None = None, *, sync: str | None = None, connection_id: str | None = None
    ) -> list[SyncSchedule]:
        """Stored rows matching every filter given, ordered by integration, sync, connection."""
        query = sa.select(sync_schedules).order_by(_T.integration, _T.sync, _T.connection_id)
        for column, value in ((_T.integration, integration), (_T.sync, sync), (_T.connection_id, connection_id)):
            if value is not None:
                query = query.where(column == value)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_row(row) for row in rows]

    async def set_paused(self, integration: str, sync: str, connection_id: str, paused: bool) -> SyncSchedule:
        """Pause or resume the sync for this connection; its schedule is kept for resuming."""
        _check_key(integration, sync, connection_id)
        if not isinstance(paused, bool):
            raise InvalidInput(f"paused must be true or false, not {paused!r}")
        return await self._upsert(integration, sync, connection_id, paused=paused)

    async def set_override(
        self, integration: str, sync: str, connection_id: str, *, every_seconds: int | None, cron: str | None
    ) -> SyncSchedule:
        """Run the sync on another schedule for this connection (both ``None``: the declared one).

        ``next_run_at`` is cleared, so the scheduler recomputes it from the new schedule
        instead of waiting for a time computed from the old one.
        """
        _check_key(integration, sync, connection_id)
        _check_override(every_seconds, cron)
        return await self._upsert(
            integration, sync, connection_id, every_seconds=every_seconds, cron=cron, next_run_at=None
        )

    async def mark_scheduled(
        self, integration: str, sync: str, connection_id: str, *, at: datetime, next_run_at: datetime | None
    ) -> None:
        """Record that the scheduler queued a run at ``at`` and when the next one is due."""
        _check_key(integration, sync, connection_id)
        await self._upsert(integration, sync, connection_id, last_scheduled_at=at, next_run_at=next_run_at)

    async def set_next_run(self, integration: str, sync: str, connection_id: str, next_run_at: datetime | None) -> None:
        """Record when the next run is due (``None``: recompute it) without marking a run queued."""
        _check_key(integration, sync, connection_id)
        await self._upsert(integration, sync, connection_id, next_run_at=next_run_at)

    async def delete(self, integration: str, connection_id: str | None = None, *, sync: str | None = None) -> int:
        """Forget the rows of an integration, narrowed to a connection and/or a sync; returns how many.

        For when a connection or an integration is removed, or a sync is dropped from code.
        """
        check_name(integration, "integration")
        stmt = sync_schedules.delete().where(_T.integration == integration)
        if connection_id is not None:
            stmt = stmt.where(_T.connection_id == check_name(connection_id, "connection_id"))
        if sync is not None:
            stmt = stmt.where(_T.sync == check_sync(sync))
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).rowcount
