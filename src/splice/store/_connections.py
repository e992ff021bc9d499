"""Connections: one customer's encrypted credentials, config vars and metadata for an integration.

Credentials are decrypted only into :class:`Connection` objects, whose ``repr`` and
:meth:`Connection.public` leave them out, so a connection can be logged or returned over
REST without leaking them. :meth:`ConnectionStore.update_credentials` takes an ``expected``
value so a token refresh can be a compare-and-set: of two workers refreshing at once, only
the one that saw the current credentials wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from splice.errors import AlreadyExists, InvalidInput, NotFound
from splice.store._crypto import SecretBox
from splice.store._engine import Database
from splice.store._schema import check_json, check_text, connections, state, utcnow
from splice.store._state import connection_scope_id

CONNECTION_STATUSES = ("ok", "error")
_NAME = re.compile(r"[A-Za-z0-9._:@-]{1,128}")
_T = connections.c


def check_name(value: Any, what: str) -> str:
    """Validate an integration name or connection id (1-128 of ``[A-Za-z0-9._:@-]``)."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidInput(
            f"invalid {what} {value!r}: use 1-128 characters of letters, digits and . _ : @ -",
            details={"field": what, "value": str(value)[:200]},
        )
    return value


def _check_dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a dict, not {type(value).__name__}")
    check_json(value, what, what.replace(" ", "_"))
    return value


@dataclass(slots=True, repr=False)
class Connection:
    """A stored connection; ``credentials`` are decrypted and must never be logged."""

    integration: str
    id: str
    credentials: dict[str, Any]
    config: dict[str, Any]
    metadata: dict[str, Any]
    status: str
    status_error: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime

    def __repr__(self) -> str:
        return (
            f"Connection(integration={self.integration!r}, id={self.id!r}, "
            f"status={self.status!r}, credential_fields={sorted(self.credentials)!r})"
        )

    def public(self) -> dict[str, Any]:
        """Everything but the credentials (their field names only), for APIs and listings."""
        return {
            "integration": self.integration,
            "id": self.id,
            "config": self.config,
            "metadata": self.metadata,
            "status": self.status,
            "status_error": self.status_error,
            "credential_fields": sorted(self.credentials),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def _not_found(integration: str, id: str) -> NotFound:
    return NotFound(
        f"connection {id!r} of integration {integration!r} not found",
        details={"integration": integration, "id": id},
        hint="splice connections list",
        hints={"rest": f"GET /connections?integration={integration} lists them"},
    )


class ConnectionStore:
    """``store.connections``: create, read, update and delete connections."""

    def __init__(self, db: Database, secrets: SecretBox) -> None:
        self._db = db
        self._secrets = secrets

    @staticmethod
    def _key(integration: str, id: str) -> sa.ColumnElement[bool]:
        check_text(integration, "integration")
        check_text(id, "connection_id")
        return sa.and_(_T.integration == integration, _T.id == id)

    def _from_row(self, row: sa.Row[Any]) -> Connection:
        values = dict(row._mapping)
        values["credentials"] = self._secrets.decrypt(values["credentials"])
        return Connection(**values)

    async def create(
        self,
        integration: str,
        id: str,
        credentials: dict[str, Any],
        config: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Connection:
        check_name(integration, "integration name")
        check_name(id, "connection id")
        now = utcnow()
        conn_obj = Connection(
            integration=integration,
            id=id,
            credentials=_check_dict(credentials, "credentials"),
            config=_check_dict(config if config is not None else {}, "config"),
            metadata=_check_dict(metadata if metadata is not None else {}, "metadata"),
            status="ok",
            status_error=None,
            created_at=now,
            updated_at=now,
        )
        values = conn_obj.public()
        del values["credential_fields"]
        values["credentials"] = self._secrets.encrypt(credentials)
        try:
            async with self._db.write() as conn:
                await conn.execute(connections.insert().values(**values))
        except sa.exc.IntegrityError:
            raise AlreadyExists(
                f"connection {id!r} of integration {integration!r} already exists",
                details={"integration": integration, "id": id},
                hint=f"choose another id, or remove it first: splice connections delete {integration} {id}",
                hints={"rest": f"choose another id, or remove it first: DELETE /connections/{integration}/{id}"},
            ) from None
        return conn_obj

    async def get(self, integration: str, id: str) -> Connection:
        async with self._db.read() as conn:
            row = await conn.execute(sa.select(connections).where(self._key(integration, id)))
            found = row.first()
        if found is None:
            raise _not_found(integration, id)
        return self._from_row(found)

    async def find(self, integration: str | None = None) -> list[Connection]:
        query = sa.select(connections)
        check_text(integration, "integration")
        if integration is not None:
            query = query.where(_T.integration == integration)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        # sorted here, not in SQL: PostgreSQL's collation would order differently than SQLite
        found = [self._from_row(row) for row in rows]
        return sorted(found, key=lambda c: (c.integration, c.id))

    async def delete(self, integration: str, id: str) -> None:
        """Delete the connection and every state row it owns (see :func:`connection_scope_id`)."""
        scope_id = connection_scope_id(integration, id)
        async with self._db.write() as conn:
            result = await conn.execute(connections.delete().where(self._key(integration, id)))
            if result.rowcount == 0:
                raise _not_found(integration, id)
            await conn.execute(
                state.delete().where(
                    (state.c.scope_id == scope_id) | state.c.scope_id.startswith(scope_id + "/", autoescape=True)
                )
            )

    async def update_credentials(
        self,
        integration: str,
        id: str,
        credentials: dict[str, Any],
        *,
        expected: dict[str, Any] | None = None,
    ) -> bool:
        """Store new credentials and mark the connection ok.

        With ``expected``, only if the stored credentials still equal it (compare-and-set);
        returns whether they were stored.
        """
        _check_dict(credentials, "credentials")
        async with self._db.write() as conn:
            if expected is not None:
                query = sa.select(_T.credentials).where(self._key(integration, id))
                stored = (await conn.execute(query.with_for_update())).scalar()
                if stored is None:
                    raise _not_found(integration, id)
                if self._secrets.decrypt(stored) != expected:
                    return False
            await self._update(
                conn,
                integration,
                id,
                credentials=self._secrets.encrypt(credentials),
                status="ok",
                status_error=None,
            )
        return True

    async def set_status(self, integration: str, id: str, status: str, error: dict[str, Any] | None = None) -> None:
        if status not in CONNECTION_STATUSES:
            raise InvalidInput(f"connection status must be 'ok' or 'error', not {status!r}")
        if error is not None:
            _check_dict(error, "status error")
        async with self._db.write() as conn:
            await self._update(conn, integration, id, status=status, status_error=error)

    async def set_config(self, integration: str, id: str, config: dict[str, Any]) -> None:
        _check_dict(config, "config")
        async with self._db.write() as conn:
            await self._update(conn, integration, id, config=config)

    async def get_metadata(self, integration: str, id: str) -> dict[str, Any]:
        async with self._db.read() as conn:
            query = sa.select(_T["metadata"]).where(self._key(integration, id))
            row = (await conn.execute(query)).first()
        if row is None:
            raise _not_found(integration, id)
        return dict(row[0])

    async def set_metadata(self, integration: str, id: str, metadata: dict[str, Any]) -> None:
        """Replace the connection's metadata."""
        _check_dict(metadata, "metadata")
        async with self._db.write() as conn:
            await self._update(conn, integration, id, metadata=metadata)

    async def update_metadata(self, integration: str, id: str, metadata: dict[str, Any]) -> dict[str, Any]:
        """Shallow-merge ``metadata`` into the stored metadata; returns the result."""
        _check_dict(metadata, "metadata")
        async with self._db.write() as conn:
            query = sa.select(_T["metadata"]).where(self._key(integration, id))
            row = (await conn.execute(query.with_for_update())).first()
            if row is None:
                raise _not_found(integration, id)
            merged = {**row[0], **metadata}
            await self._update(conn, integration, id, metadata=merged)
        return merged

    async def _update(self, conn: Any, integration: str, id: str, **values: Any) -> None:
        stmt = connections.update().where(self._key(integration, id))
        result = await conn.execute(stmt.values(updated_at=utcnow(), **values))
        if result.rowcount == 0:
            raise _not_found(integration, id)

    async def rotate_secrets(self, conn: Any) -> int:
        """Re-encrypt every connection's credentials with the primary key, inside ``conn``."""
        query = sa.select(_T.integration, _T.id, _T.credentials).with_for_update()
        rows = (await conn.execute(query)).all()
        if rows:
            stmt = (
                connections.update()
                .where(_T.integration == sa.bindparam("k_integration"))
                .where(_T.id == sa.bindparam("k_id"))
                .values(credentials=sa.bindparam("k_credentials"))
            )
            params = [
                {
                    "k_integration": row.integration,
                    "k_id": row.id,
                    "k_credentials": self._secrets.rotate(row.credentials),
                }
                for row in rows
            ]
            await conn.execute(stmt, params)
        return len(rows)
