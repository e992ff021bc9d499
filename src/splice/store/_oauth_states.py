"""Pending OAuth connect flows: what the callback needs, kept between redirect and return.

``/connect/{integration}`` puts a state (the PKCE verifier, the redirect URI, ...) under a
random id that travels through the provider as ``state``; ``/oauth/callback`` takes it back.
A state is single use and short-lived: :meth:`OAuthStateStore.take` deletes it in the same
statement that reads it, so a replayed or concurrent callback finds nothing. The data is
encrypted with the :class:`SecretBox` like credentials, since the verifier is what makes a
stolen authorization code useless.

>>> await store.oauth_states.put(state, "acme", "c1", {"verifier": v}, ttl=600)
>>> await store.oauth_states.take(state)
('acme', 'c1', {'verifier': '...'})
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from splice._clock import Clock, SystemClock
from splice.errors import AlreadyExists, InvalidInput
from splice.store._connections import check_name
from splice.store._crypto import SecretBox
from splice.store._engine import Database
from splice.store._schema import check_json, oauth_states

_T = oauth_states.c


def _check_state_id(state_id: Any) -> str:
    if not isinstance(state_id, str) or not 0 < len(state_id) <= 64:
        raise InvalidInput(f"an OAuth state id must be a string of 1-64 characters, not {state_id!r}")
    return state_id


class OAuthStateStore:
    """``store.oauth_states``: put a pending OAuth flow, take it back once, purge old ones."""

    def __init__(self, db: Database, secrets: SecretBox, clock: Clock | None = None) -> None:
        self._db = db
        self._secrets = secrets
        self._clock = clock or SystemClock()

    async def put(
        self, state_id: str, integration: str, connection_id: str, data: dict[str, Any], *, ttl: float
    ) -> None:
        """Keep ``data`` under ``state_id`` for ``ttl`` seconds (AlreadyExists if the id is taken)."""
        _check_state_id(state_id)
        check_name(integration, "integration")
        check_name(connection_id, "connection_id")
        if not isinstance(data, dict):
            raise InvalidInput(f"OAuth state data must be a dict, not {type(data).__name__}")
        check_json(data, "OAuth state data", "data")
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not math.isfinite(ttl) or ttl <= 0:
            raise InvalidInput(f"ttl must be a positive number of seconds, not {ttl!r}")
        now = self._clock.now()
        values = {
            "id": state_id,
            "integration": integration,
            "connection_id": connection_id,
            "data": self._secrets.encrypt(data),
            "expires_at": now + timedelta(seconds=ttl),
            "created_at": now,
        }
        try:
            async with self._db.write() as conn:
                await conn.execute(oauth_states.insert().values(values))
        except sa.exc.IntegrityError:
            raise AlreadyExists(f"OAuth state {state_id!r} already exists", details={"id": state_id}) from None

    async def take(self, state_id: str) -> tuple[str, str, dict[str, Any]] | None:
        """``(integration, connection_id, data)`` and forget it; ``None`` if unknown, taken or expired.

        One ``DELETE ... RETURNING``, so of two callbacks with the same state only one gets it.
        """
        if not isinstance(state_id, str) or not 0 < len(state_id) <= 64:
            return None
        stmt = (
            oauth_states.delete()
            .where(_T.id == state_id)
            .returning(_T.integration, _T.connection_id, _T.data, _T.expires_at)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None or row.expires_at <= self._clock.now():
            return None
        return row.integration, row.connection_id, self._secrets.decrypt(row.data)

    async def purge_expired(self) -> int:
        """Delete the states past their expiry (flows abandoned half-way); returns how many."""
        async with self._db.write() as conn:
            return (await conn.execute(oauth_states.delete().where(_T.expires_at <= self._clock.now()))).rowcount

    async def rotate_secrets(self, conn: AsyncConnection) -> int:
        """Re-encrypt every pending state with the primary key, inside ``conn`` (expired ones are dropped)."""
        await conn.execute(oauth_states.delete().where(_T.expires_at <= self._clock.now()))
        rows = (await conn.execute(sa.select(_T.id, _T.data).with_for_update())).all()
        if rows:
            stmt = oauth_states.update().where(_T.id == sa.bindparam("k_id")).values(data=sa.bindparam("k_data"))
            await conn.execute(stmt, [{"k_id": row.id, "k_data": self._secrets.rotate(row.data)} for row in rows])
        return len(rows)
