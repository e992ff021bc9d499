"""Named locks shared by every process that uses the same database.

Used so that only one worker refreshes a connection's OAuth token at a time. A lock is a row
with an owner and an expiry; acquiring is one upsert that succeeds when the row is new,
expired, or already ours, so it behaves the same on SQLite and PostgreSQL (no advisory locks)
and a crashed holder blocks others for at most ``ttl`` seconds. Expiry uses the callers'
clocks, so keep machines NTP-synced and ``ttl`` well above any skew.

>>> async with store.locks.hold(f"refresh:{integration}:{connection_id}"):
...     ...  # refresh and store the token
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta

from splice.errors import Unavailable
from splice.store._engine import Database
from splice.store._schema import locks, utcnow

_T = locks.c


class LockStore:
    """``store.locks``: acquire / release, and :meth:`hold` to wait for a lock."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def acquire(self, name: str, owner: str, ttl: float) -> bool:
        """Take ``name`` for ``ttl`` seconds if it is free, expired or already ``owner``'s."""
        now = utcnow()
        stmt = self._db.insert(locks).values(name=name, owner=owner, expires_at=now + timedelta(seconds=ttl))
        stmt = stmt.on_conflict_do_update(
            index_elements=[_T.name],
            set_={"owner": stmt.excluded.owner, "expires_at": stmt.excluded.expires_at},
            where=(_T.expires_at <= now) | (_T.owner == owner),
        ).returning(_T.owner)
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def release(self, name: str, owner: str) -> bool:
        """Release ``name`` if ``owner`` still holds it; returns whether it did."""
        stmt = locks.delete().where(_T.name == name, _T.owner == owner)
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).rowcount > 0

    def hold(
        self, name: str, *, ttl: float = 30.0, timeout: float = 30.0, poll: float = 0.05
    ) -> AbstractAsyncContextManager[str]:
        """Wait (polling) until ``name`` is ours, yield the owner id, release on exit.

        Raises SpliceError ``LOCK_TIMEOUT`` after ``timeout`` seconds. The lock lapses after
        ``ttl`` seconds even while held, so keep the work inside shorter than that.
        """
        return self._held(name, ttl, timeout, poll)

    @asynccontextmanager
    async def lease(self, name: str, owner: str, *, ttl: float = 60.0) -> AsyncIterator[bool]:
        """Try once to take ``name``; yield whether it is ours, and keep renewing it while inside.

        For work longer than any fixed ``ttl`` (a sync): the lease is renewed every ``ttl / 3``
        seconds, so it lapses only ``ttl`` seconds after its holder dies. An owner that
        restarts under the same name (a recovered job) gets its lease back at once.
        """
        if not await self.acquire(name, owner, ttl):
            yield False
            return

        async def renew() -> None:
            while True:
                await asyncio.sleep(ttl / 3)
                await self.acquire(name, owner, ttl)

        renewing = asyncio.create_task(renew())
        try:
            yield True
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await asyncio.shield(self.release(name, owner))

    @asynccontextmanager
    async def _held(self, name: str, ttl: float, wait: float, poll: float) -> AsyncIterator[str]:
        owner = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not await self.acquire(name, owner, ttl):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise Unavailable(
                    f"timed out after {wait:g}s waiting for lock {name!r}",
                    code="LOCK_TIMEOUT",
                    details={"lock": name, "timeout": wait},
                    hint="another worker holds it; it expires on its own if that worker died",
                )
            await asyncio.sleep(min(poll, remaining))
        try:
            yield owner
        finally:
            await self.release(name, owner)
