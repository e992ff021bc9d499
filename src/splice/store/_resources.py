"""Platform resources created over the API: one JSON document per (type, id).

Exports, imports and the other resource types of SPEC §5 share this table: what differs
between them is their document, which :mod:`splice.services.resources` checks before it is
stored. Resources declared in the project's code never reach it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from splice._clock import Clock, SystemClock
from splice.errors import AlreadyExists, NotFound
from splice.store._engine import Database
from splice.store._schema import check_json, check_text, resources

_R = resources.c


@dataclass(frozen=True, slots=True)
class StoredResource:
    """A stored resource's document and when it was made and last changed."""

    type: str
    id: str
    integration: str
    external_id: str | None
    document: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ResourceStore:
    """``store.resources``: create / get / find / replace / delete documents by type and id."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self._db = db
        self._clock = clock or SystemClock()

    async def create(self, type: str, document: dict[str, Any]) -> StoredResource:
        """Store a new document (its ``id``, ``integration``, ``external_id`` read from it);
        :class:`AlreadyExists` when the id is taken."""
        check_json(document, f"{type} document", "document")
        now = self._clock.now()
        try:
            async with self._db.write() as conn:
                await conn.execute(resources.insert().values(**_row(type, document, now), created_at=now))
        except sa.exc.IntegrityError:
            raise AlreadyExists(
                f"{_singular(type)} {document['id']!r} already exists",
                details={"type": type, "id": document["id"]},
                hint=f"PUT /{type}/{{id}} replaces it",
            ) from None
        return StoredResource(type, document["id"], document["integration"], document.get("external_id"),
                              document, now, now)  # fmt: skip

    async def replace(self, type: str, document: dict[str, Any]) -> StoredResource:
        check_json(document, f"{type} document", "document")
        now = self._clock.now()
        query = resources.update().where(_R.type == type, _R.id == document["id"])
        async with self._db.write() as conn:
            if (await conn.execute(query.values(**_row(type, document, now)))).rowcount == 0:
                raise not_found(type, document["id"])
        return await self.get(type, document["id"])

    async def get(self, type: str, id: str) -> StoredResource:
        check_text(id, f"{_singular(type)} id")
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(resources).where(_R.type == type, _R.id == id))).first()
        if row is None:
            raise not_found(type, id)
        return _stored(row)

    async def find(
        self, type: str, *, external_id: str | None = None, integrations: list[str] | None = None
    ) -> list[StoredResource]:
        """Documents of ``type`` by id, narrowed to an ``external_id`` and to some integrations."""
        query = sa.select(resources).where(_R.type == type).order_by(_R.id)
        if external_id is not None:
            check_text(external_id, "external_id")
            query = query.where(_R.external_id == external_id)
        if integrations is not None:
            query = query.where(_R.integration.in_(integrations))
        async with self._db.read() as conn:
            return [_stored(row) for row in (await conn.execute(query)).all()]

    async def delete(self, type: str, id: str) -> None:
        check_text(id, f"{_singular(type)} id")
        async with self._db.write() as conn:
            if (await conn.execute(resources.delete().where(_R.type == type, _R.id == id))).rowcount == 0:
                raise not_found(type, id)


def not_found(type: str, id: str) -> NotFound:
    return NotFound(
        f"{_singular(type)} {id!r} not found", details={"type": type, "id": id}, hint=f"GET /{type} lists them"
    )


def _singular(type: str) -> str:
    return type.removesuffix("s").replace("_", " ")


def _row(type: str, document: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"type": type, "id": document["id"], "integration": document["integration"],
            "external_id": document.get("external_id"), "document": document, "updated_at": now}  # fmt: skip


def _stored(row: Any) -> StoredResource:
    return StoredResource(row.type, row.id, row.integration, row.external_id, dict(row.document), row.created_at,
                          row.updated_at)  # fmt: skip
