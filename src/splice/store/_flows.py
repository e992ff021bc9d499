"""Flow documents: the ones created over the API, and every version a run has used.

A code-declared flow lives in the project; its document is remembered here (by version)
when a run first uses it, so a retry pinned to a run's original version can find it after
the project changed. API-created flows are stored whole and are also remembered by version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from splice._clock import Clock, SystemClock
from splice.errors import AlreadyExists, NotFound
from splice.store._engine import Database
from splice.store._schema import check_json, check_text, flow_versions, flows

_F = flows.c
_V = flow_versions.c


@dataclass(frozen=True, slots=True)
class StoredFlow:
    """An API-created flow: its canonical document and when it was made and last changed."""

    id: str
    document: dict[str, Any]
    version: str
    created_at: datetime
    updated_at: datetime


class FlowStore:
    """``store.flows``: create / get / list / replace / delete flow documents, and their versions."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self._db = db
        self._clock = clock or SystemClock()

    async def create(self, document: dict[str, Any]) -> StoredFlow:
        """Store a new flow; :class:`AlreadyExists` when its id is taken."""
        check_json(document, "flow document", "document")
        now = self._clock.now()
        row = _row(document, now)
        try:
            async with self._db.write() as conn:
                await conn.execute(flows.insert().values(**row, created_at=now))
        except sa.exc.IntegrityError:
            raise AlreadyExists(f"flow {document['id']!r} already exists", hint="PUT /flows/{id} replaces it") from None
        await self.remember(document)
        return StoredFlow(document["id"], document, document["version"], now, now)

    async def replace(self, document: dict[str, Any]) -> StoredFlow:
        """Replace a stored flow's document (a new version); runs keep the version they started with."""
        check_json(document, "flow document", "document")
        now = self._clock.now()
        async with self._db.write() as conn:
            done = await conn.execute(flows.update().where(_F.id == document["id"]).values(**_row(document, now)))
            if done.rowcount == 0:
                raise _not_found(document["id"])
        await self.remember(document)
        return await self.get(document["id"])

    async def get(self, flow_id: str) -> StoredFlow:
        check_text(flow_id, "flow id")
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(flows).where(_F.id == flow_id))).first()
        if row is None:
            raise _not_found(flow_id)
        return StoredFlow(row.id, row.document, row.version, row.created_at, row.updated_at)

    async def list(self) -> list[StoredFlow]:
        async with self._db.read() as conn:
            rows = (await conn.execute(sa.select(flows).order_by(_F.id))).all()
        return [StoredFlow(r.id, r.document, r.version, r.created_at, r.updated_at) for r in rows]

    async def delete(self, flow_id: str) -> None:
        check_text(flow_id, "flow id")
        async with self._db.write() as conn:
            if (await conn.execute(flows.delete().where(_F.id == flow_id))).rowcount == 0:
                raise _not_found(flow_id)

    async def remember(self, document: dict[str, Any]) -> None:
        """Keep this version of the flow's document (a no-op when it is already kept)."""
        stmt = self._db.insert(flow_versions).values(
            flow_id=document["id"], version=document["version"], document=document, created_at=self._clock.now()
        )
        async with self._db.write() as conn:
            await conn.execute(stmt.on_conflict_do_nothing())

    async def version(self, flow_id: str, version: str) -> dict[str, Any]:
        """The document of ``flow_id`` at ``version``, as a run used it."""
        check_text(flow_id, "flow id")
        check_text(version, "version")
        query = sa.select(_V.document).where(_V.flow_id == flow_id, _V.version == version)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(f"flow {flow_id!r} has no stored version {version!r}", details={"flow": flow_id})
        return dict(row[0])


def _row(document: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"id": document["id"], "integration": document["integration"], "name": document["name"],
            "document": document, "version": document["version"], "updated_at": now}  # fmt: skip


def _not_found(flow_id: str) -> NotFound:
    return NotFound(f"flow {flow_id!r} not found", details={"id": flow_id}, hint="GET /flows lists the flows")
