"""``store.webhook_deliveries``: a delivery is accepted once until it expires, by every store on the database."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from splice._clock import ManualClock
from splice.store import Store, open_store
from splice.store._schema import webhook_deliveries

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
KEY = hashlib.sha256(b"acme.events\0mac").digest()


@pytest.fixture
def clock() -> ManualClock:
    """The store's notion of now (the ``store`` fixture runs on it); tests move it."""
    return ManualClock(T0)


async def _keys(store: Store) -> list[bytes]:
    async with store.engine.connect() as conn:
        return sorted(bytes(k) for k in (await conn.execute(sa.select(webhook_deliveries.c.key))).scalars())


async def test_a_delivery_is_accepted_once(store: Store) -> None:
    expires = datetime.now(UTC) + timedelta(minutes=5)
    assert await store.webhook_deliveries.accept(KEY, expires) is True
    assert await store.webhook_deliveries.accept(KEY, expires) is False
    assert await store.webhook_deliveries.accept(hashlib.sha256(b"other").digest(), expires) is True


async def test_an_expired_delivery_may_be_accepted_again(store: Store, clock: ManualClock) -> None:
    assert await store.webhook_deliveries.accept(KEY, T0 + timedelta(seconds=60))
    clock.set(T0 + timedelta(seconds=59))
    assert not await store.webhook_deliveries.accept(KEY, T0 + timedelta(seconds=60))
    clock.set(T0 + timedelta(seconds=60))
    assert await store.webhook_deliveries.accept(KEY, T0 + timedelta(seconds=120))
    assert not await store.webhook_deliveries.accept(KEY, T0 + timedelta(seconds=120))


async def test_concurrent_stores_accept_a_delivery_exactly_once(store: Store, database_url: str) -> None:
    expires = datetime.now(UTC) + timedelta(minutes=5)
    async with await open_store(database_url, store._secrets) as other:
        results = await asyncio.gather(*(s.webhook_deliveries.accept(KEY, expires) for s in (store, other) * 4))
    assert sorted(results) == [False] * 7 + [True]


async def test_expired_deliveries_are_purged_and_live_ones_kept(store: Store, clock: ManualClock) -> None:
    old, live = hashlib.sha256(b"old").digest(), hashlib.sha256(b"live").digest()
    await store.webhook_deliveries.accept(old, T0 + timedelta(seconds=10))
    await store.webhook_deliveries.accept(live, T0 + timedelta(seconds=600))
    clock.set(T0 + timedelta(seconds=30))
    assert await store.webhook_deliveries.purge_expired() == 1
    assert await store.webhook_deliveries.purge_expired() == 0
    assert await _keys(store) == [live]


async def test_accepting_purges_expired_rows_now_and_then(store: Store, database_url: str, clock: ManualClock) -> None:
    first = hashlib.sha256(b"first").digest()
    await store.webhook_deliveries.accept(first, T0 + timedelta(seconds=10))
    clock.set(T0 + timedelta(seconds=30))
    await store.webhook_deliveries.accept(KEY, T0 + timedelta(seconds=600))
    assert await _keys(store) == sorted([first, KEY])  # this store purged a moment ago
    async with await open_store(database_url, store._secrets, clock=clock) as restarted:
        await restarted.webhook_deliveries.accept(hashlib.sha256(b"next").digest(), T0 + timedelta(seconds=600))
    assert await _keys(store) == sorted([KEY, hashlib.sha256(b"next").digest()])
