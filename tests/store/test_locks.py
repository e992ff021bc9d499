from __future__ import annotations

import asyncio

import pytest

from splice.errors import SpliceError
from splice.store import Store


async def test_acquire_and_release(store: Store) -> None:
    assert await store.locks.acquire("refresh:acme:c1", "a", ttl=30)
    assert not await store.locks.acquire("refresh:acme:c1", "b", ttl=30)
    assert await store.locks.acquire("refresh:acme:c2", "b", ttl=30)  # other names are free
    assert await store.locks.acquire("refresh:acme:c1", "a", ttl=30)  # re-entrant, extends
    assert not await store.locks.release("refresh:acme:c1", "b")  # not the owner
    assert await store.locks.release("refresh:acme:c1", "a")
    assert not await store.locks.release("refresh:acme:c1", "a")
    assert await store.locks.acquire("refresh:acme:c1", "b", ttl=30)


async def test_expired_lock_is_taken_over(store: Store) -> None:
    assert await store.locks.acquire("l", "a", ttl=0.05)
    assert not await store.locks.acquire("l", "b", ttl=30)
    await asyncio.sleep(0.1)
    assert await store.locks.acquire("l", "b", ttl=30)
    assert not await store.locks.release("l", "a")  # a lost it


async def test_concurrent_acquire_has_one_winner(store: Store) -> None:
    results = await asyncio.gather(*(store.locks.acquire("l", f"owner-{i}", ttl=30) for i in range(10)))
    assert results.count(True) == 1


async def test_hold_waits_for_the_holder(store: Store) -> None:
    events: list[str] = []
    first_in = asyncio.Event()

    async def first() -> None:
        async with store.locks.hold("l", poll=0.01) as owner:
            assert isinstance(owner, str) and owner
            events.append("first in")
            first_in.set()
            await asyncio.sleep(0.15)
            events.append("first out")

    async def second() -> None:
        await first_in.wait()
        async with store.locks.hold("l", poll=0.01):
            events.append("second in")

    await asyncio.gather(first(), second())
    assert events == ["first in", "first out", "second in"]
    assert await store.locks.acquire("l", "someone", ttl=1)  # released after exit


async def test_hold_times_out(store: Store) -> None:
    assert await store.locks.acquire("l", "other", ttl=30)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(SpliceError) as info:
        async with store.locks.hold("l", timeout=0.2, poll=0.02):
            pytest.fail("must not get the lock")
    assert info.value.code == "LOCK_TIMEOUT"
    assert "'l'" in info.value.message
    assert 0.2 <= loop.time() - started < 2


async def test_hold_takes_over_expired_lock(store: Store) -> None:
    assert await store.locks.acquire("l", "crashed-worker", ttl=0.1)
    async with store.locks.hold("l", timeout=5, poll=0.02) as owner:
        assert owner != "crashed-worker"


async def test_hold_releases_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.locks.hold("l"):
            raise RuntimeError("boom")
    assert await store.locks.acquire("l", "next", ttl=1)


async def test_hold_across_two_stores(store: Store, database_url: str) -> None:
    """Two engines on one database (as two processes would be) exclude each other."""
    from splice.store import SecretBox, open_store

    async with await open_store(database_url, SecretBox.generate()) as other:
        async with store.locks.hold("l"):
            assert not await other.locks.acquire("l", "x", ttl=1)
        async with other.locks.hold("l", timeout=1):
            assert not await store.locks.acquire("l", "y", ttl=1)
