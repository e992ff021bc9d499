"""Operator environment variables for scripts (``ctx.env``), encrypted at rest like credentials."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import sqlalchemy as sa

from splice.errors import InvalidInput, NotFound
from splice.store._crypto import SecretBox
from splice.store._engine import Database
from splice.store._schema import env_vars, utcnow

_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,254}")
_T = env_vars.c
#: how long :meth:`EnvStore.all` may answer from memory (see there)
CACHE_SECONDS = 1.0


class EnvStore:
    """``store.env``: set, unset and read operator-defined variables."""

    def __init__(self, db: Database, secrets: SecretBox) -> None:
        self._db = db
        self._secrets = secrets
        self._cached: tuple[float, dict[str, str]] | None = None
        self._reading = asyncio.Lock()

    async def set(self, name: str, value: str) -> None:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidInput(
                f"invalid environment variable name {name!r}: use upper-case letters, digits "
                "and _, not starting with a digit (e.g. API_REGION)"
            )
        if not isinstance(value, str):
            raise InvalidInput(f"environment variable {name} must be a string, not {type(value).__name__}")
        stmt = self._db.insert(env_vars).values(name=name, value=self._secrets.encrypt(value), updated_at=utcnow())
        stmt = stmt.on_conflict_do_update(
            index_elements=[_T.name],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)
        self._cached = None

    async def unset(self, name: str) -> None:
        async with self._db.write() as conn:
            result = await conn.execute(env_vars.delete().where(_T.name == name))
        self._cached = None
        if result.rowcount == 0:
            raise NotFound(f"environment variable {name!r} not found", details={"name": name})

    async def names(self) -> list[str]:
        async with self._db.read() as conn:
            return sorted((await conn.execute(sa.select(_T.name))).scalars().all())

    async def all(self) -> dict[str, str]:
        """Every variable, decrypted, by name (a new dict each call).

        Every run reads them, so the answer is kept for :data:`CACHE_SECONDS`: a change made
        through this store is seen at once, one made by another process within that time.
        """
        async with self._reading:  # one read per expiry, however many runs start at that moment
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > CACHE_SECONDS:
                async with self._db.read() as conn:
                    rows = (await conn.execute(sa.select(_T.name, _T.value))).all()
                self._cached = (now, {row.name: self._secrets.decrypt(row.value) for row in sorted(rows)})
            return dict(self._cached[1])

    async def rotate_secrets(self, conn: Any) -> int:
        """Re-encrypt every value with the primary key, inside ``conn``."""
        rows = (await conn.execute(sa.select(_T.name, _T.value).with_for_update())).all()
        if rows:
            stmt = env_vars.update().where(_T.name == sa.bindparam("k_name")).values(value=sa.bindparam("k_value"))
            params = [{"k_name": row.name, "k_value": self._secrets.rotate(row.value)} for row in rows]
            await conn.execute(stmt, params)
        self._cached = None
        return len(rows)
