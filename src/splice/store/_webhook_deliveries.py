"""Webhook deliveries already accepted, so a replayed signed request runs nowhere a second time.

A timestamped signature is valid for its whole tolerance window, so the timestamp alone lets a
captured request be resent for minutes. Every accepted one is recorded here under a key (a
SHA-256 of the trigger and the signature's MAC, never the signature itself) until its
timestamp is too old to be accepted anyway; recording is one upsert that succeeds only when
the key is new or its row has expired, so of two servers given the same request at once
exactly one accepts it, on SQLite and PostgreSQL alike. Expired rows are deleted now and then by whoever records.

>>> await store.webhook_deliveries.accept(key, expires_at)   # True: first time
>>> await store.webhook_deliveries.accept(key, expires_at)   # False: a replay
"""

from __future__ import annotations

import time
from datetime import datetime

import sqlalchemy as sa

from splice._clock import Clock, SystemClock
from splice.store._engine import Database
from splice.store._schema import webhook_deliveries

_T = webhook_deliveries.c
#: seconds between deletions of expired rows by one store (sooner after a full batch)
PRUNE_EVERY = 60.0
#: rows one deletion removes at most, so a backlog never makes one webhook slow
PRUNE_BATCH = 5000


class WebhookDeliveryStore:
    """``store.webhook_deliveries``: record accepted deliveries; refuse the same one twice."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self._db = db
        self._clock = clock or SystemClock()
        self._next_prune = 0.0

    async def accept(self, key: bytes, expires_at: datetime) -> bool:
        """Record ``key`` until ``expires_at``; False when it is already recorded and not expired."""
        now = self._clock.now()
        stmt = self._db.insert(webhook_deliveries).values(key=key, expires_at=expires_at)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_T.key], set_={"expires_at": stmt.excluded.expires_at}, where=_T.expires_at <= now
        ).returning(_T.key)
        async with self._db.write() as conn:
            accepted = (await conn.execute(stmt)).first() is not None
        if time.monotonic() >= self._next_prune:
            await self.purge_expired()
        return accepted

    async def purge_expired(self) -> int:
        """Delete up to :data:`PRUNE_BATCH` expired rows; returns how many.

        Rows locked by another server's purge are skipped (PostgreSQL), so purges never wait
        on each other.
        """
        expired = sa.select(_T.key).where(_T.expires_at <= self._clock.now()).limit(PRUNE_BATCH)
        expired = expired.with_for_update(skip_locked=True)
        async with self._db.write() as conn:
            deleted = (await conn.execute(webhook_deliveries.delete().where(_T.key.in_(expired)))).rowcount
        self._next_prune = time.monotonic() + (0 if deleted >= PRUNE_BATCH else PRUNE_EVERY)
        return deleted
