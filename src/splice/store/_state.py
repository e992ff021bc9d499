"""State: JSON values by key, scoped to a resource.

A scope is a short kind (``"global"``, ``"integration"``, ``"connection"``, ``"script"``,
``"flow"``…) plus an id (``""`` for global). State owned by a connection must use a
``scope_id`` built by :func:`connection_scope_id` — ``"acme/c1"`` for the connection itself,
``"acme/c1/contacts"`` for a script x connection — because deleting the connection deletes
every state row whose ``scope_id`` is that or starts with it plus ``/`` (connection ids and
integration names cannot contain ``/``).

Values are plain JSON, stored as they are (not encrypted, unlike credentials), of at most
:attr:`StateStore.max_value_bytes` bytes each.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from splice import _json
from splice.errors import InvalidInput
from splice.store._engine import Database
from splice.store._schema import check_json, check_text, state, utcnow

_T = state.c
_MISSING = object()
#: the default :attr:`StateStore.max_value_bytes` (``[runtime] max_state_kb``)
MAX_VALUE_BYTES = 1024 * 1024


def connection_scope_id(integration: str, connection_id: str, *parts: str) -> str:
    """The ``scope_id`` for state owned by a connection (``parts`` narrow it, e.g. a script)."""
    return "/".join((integration, connection_id, *parts))


def _check(scope: Any, scope_id: Any, key: Any = _MISSING) -> None:
    if not isinstance(scope, str) or not 0 < len(scope) <= 32:
        raise InvalidInput(f"state scope must be a string of 1-32 characters, not {scope!r}")
    if not isinstance(scope_id, str) or len(scope_id) > 512:
        raise InvalidInput(f"state scope id must be a string of at most 512 characters: {scope_id!r}")
    if key is not _MISSING and (not isinstance(key, str) or not 0 < len(key) <= 512):
        raise InvalidInput(f"state key must be a string of 1-512 characters, not {key!r}")
    check_text(scope, "state scope")
    check_text(scope_id, "state scope id")
    check_text(key, "key")


class StateStore:
    """``store.state``: get / put / delete / keys, by (scope, scope_id, key).

    ``max_value_bytes`` bounds a value's JSON; the runtime sets it from ``[runtime] max_state_kb``.
    """

    connection_scope_id = staticmethod(connection_scope_id)

    def __init__(self, db: Database, max_value_bytes: int = MAX_VALUE_BYTES) -> None:
        self._db = db
        self.max_value_bytes = max_value_bytes

    @staticmethod
    def _where(scope: str, scope_id: str) -> sa.ColumnElement[bool]:
        return sa.and_(_T.scope == scope, _T.scope_id == scope_id)

    async def get(self, scope: str, scope_id: str, key: str, default: Any = None) -> Any:
        _check(scope, scope_id, key)
        query = sa.select(_T.value).where(self._where(scope, scope_id), _T.key == key)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return default if row is None else row[0]

    async def put(self, scope: str, scope_id: str, key: str, value: Any) -> None:
        """Store ``value`` (plain JSON of at most ``max_value_bytes``; anything else is refused before writing)."""
        _check(scope, scope_id, key)
        encoded = check_json(value, f"state value for key {key!r}")
        refusal = _json.oversize(encoded, self.max_value_bytes, f"the state value for key {key!r}", "value")
        if refusal is not None:
            raise InvalidInput(
                **refusal, code="STATE_TOO_LARGE",
                hint="keep large data in your own storage and put a reference in state, "
                "or raise [runtime] max_state_kb",
            )  # fmt: skip
        now = utcnow()
        stmt = self._db.insert(state).values(scope=scope, scope_id=scope_id, key=key, value=value, updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_T.scope, _T.scope_id, _T.key],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def delete(self, scope: str, scope_id: str, key: str) -> bool:
        """Delete one key; returns whether it existed."""
        _check(scope, scope_id, key)
        stmt = state.delete().where(self._where(scope, scope_id), _T.key == key)
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).rowcount > 0

    async def keys(self, scope: str, scope_id: str, prefix: str | None = None) -> list[str]:
        _check(scope, scope_id)
        check_text(prefix, "prefix")
        query = sa.select(_T.key).where(self._where(scope, scope_id))
        if prefix:
            query = query.where(_T.key.startswith(prefix, autoescape=True))
        async with self._db.read() as conn:
            keys = (await conn.execute(query)).scalars().all()
        return sorted(keys)  # in Python: PostgreSQL's collation would order differently

    async def delete_scope(self, scope: str, scope_id: str) -> int:
        """Delete every key of one scope; returns how many there were."""
        _check(scope, scope_id)
        async with self._db.write() as conn:
            return (await conn.execute(state.delete().where(self._where(scope, scope_id)))).rowcount
