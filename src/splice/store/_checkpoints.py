"""Checkpoints: where a sync got to, per (integration, connection, sync), as a JSON dict.

A sync saves one with its records (``store.records.save(..., checkpoint=(sync, value))``),
in the same transaction, so after a crash the checkpoint never claims records that were not
stored; or on its own with :meth:`CheckpointStore.save`. A value that is not a
JSON-serialisable dict is refused before anything is written.

>>> await store.checkpoints.save("acme", "c1", "contacts", {"since": "2026-11-01"})
>>> await store.checkpoints.get("acme", "c1", "contacts")
{'since': '2026-11-01'}
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from splice.errors import InvalidInput
from splice.store._connections import check_name
from splice.store._engine import Database
from splice.store._schema import check_json, checkpoints, utcnow

_T = checkpoints.c


def check_sync(sync: Any) -> str:
    if not isinstance(sync, str) or not 0 < len(sync) <= 255:
        raise InvalidInput(f"sync name must be a string of 1-255 characters, not {sync!r}")
    return sync


def check_value(sync: str, value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON-serialisable dict, else InvalidInput naming the type."""
    if not isinstance(value, dict):
        raise InvalidInput(
            f"checkpoint of sync {sync!r} must be a dict, not {type(value).__name__}",
            code="INVALID_CHECKPOINT",
            details={"type": type(value).__name__},
        )
    try:
        check_json(value, f"checkpoint of sync {sync!r}", "checkpoint")
    except InvalidInput as exc:
        raise InvalidInput(exc.message, code="INVALID_CHECKPOINT", details=exc.details) from None
    return value


async def write_checkpoint(
    conn: AsyncConnection, db: Database, integration: str, connection_id: str, sync: str, value: dict[str, Any]
) -> None:
    """Upsert one checkpoint inside the caller's transaction (the value already checked)."""
    stmt = db.insert(checkpoints).values(
        integration=integration, connection_id=connection_id, sync=sync, value=value, updated_at=utcnow()
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[_T.integration, _T.connection_id, _T.sync],
        set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
    )
    await conn.execute(stmt)


class CheckpointStore:
    """``store.checkpoints``: get / save / clear a sync's checkpoint for one connection."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def _where(integration: str, connection_id: str, sync: str | None) -> sa.ColumnElement[bool]:
        check_name(integration, "integration")
        check_name(connection_id, "connection_id")
        clause = sa.and_(_T.integration == integration, _T.connection_id == connection_id)
        return clause if sync is None else sa.and_(clause, _T.sync == check_sync(sync))

    async def get(self, integration: str, connection_id: str, sync: str) -> dict[str, Any]:
        """The saved checkpoint, or ``{}`` when there is none."""
        query = sa.select(_T.value).where(self._where(integration, connection_id, sync))
        async with self._db.read() as conn:
            value = (await conn.execute(query)).scalar()
        return {} if value is None else value

    async def save(self, integration: str, connection_id: str, sync: str, value: dict[str, Any]) -> None:
        """Replace the checkpoint with ``value`` (a JSON-serialisable dict)."""
        self._where(integration, connection_id, sync)
        check_value(sync, value)
        async with self._db.write() as conn:
            await write_checkpoint(conn, self._db, integration, connection_id, sync, value)

    async def clear(self, integration: str, connection_id: str, sync: str | None = None) -> int:
        """Delete the checkpoint of ``sync`` (every sync of the connection when ``None``)."""
        stmt = checkpoints.delete().where(self._where(integration, connection_id, sync))
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).rowcount
