from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from splice._clock import ManualClock
from splice.errors import AlreadyExists, InvalidInput, SpliceError
from splice.store import SecretBox, Store, open_store
from splice.store._schema import oauth_states

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
DATA = {"verifier": "pkce-verifier-4711", "redirect_uri": "http://127.0.0.1:8000/oauth/callback"}


@pytest.fixture
def clock() -> ManualClock:
    """The store's notion of now (the ``store`` fixture runs on it); tests move it."""
    return ManualClock(T0)


async def test_put_then_take_returns_the_flow(store: Store) -> None:
    await store.oauth_states.put("state-1", "acme", "c1", DATA, ttl=600)
    assert await store.oauth_states.take("state-1") == ("acme", "c1", DATA)


async def test_a_state_is_taken_only_once(store: Store) -> None:
    await store.oauth_states.put("state-1", "acme", "c1", DATA, ttl=600)
    assert await store.oauth_states.take("state-1") is not None
    assert await store.oauth_states.take("state-1") is None


async def test_concurrent_takes_give_it_to_exactly_one(store: Store, database_url: str) -> None:
    await store.oauth_states.put("state-1", "acme", "c1", DATA, ttl=600)
    async with await open_store(database_url, store._secrets) as other:
        results = await asyncio.gather(
            *(s.oauth_states.take("state-1") for s in (store, other, store, other, store, other))
        )
    assert sorted(results, key=lambda r: r is None) == [("acme", "c1", DATA)] + [None] * 5


async def test_unknown_states_are_none(store: Store) -> None:
    for state_id in ["nope", "", "x" * 65, None, 5]:
        assert await store.oauth_states.take(state_id) is None  # type: ignore[arg-type]


async def test_an_expired_state_is_none_and_gone(store: Store, clock: ManualClock) -> None:
    await store.oauth_states.put("state-1", "acme", "c1", DATA, ttl=60)
    await store.oauth_states.put("state-2", "acme", "c2", DATA, ttl=60)

    clock.set(T0 + timedelta(seconds=59))
    assert await store.oauth_states.take("state-1") == ("acme", "c1", DATA)
    clock.set(T0 + timedelta(seconds=60))
    assert await store.oauth_states.take("state-2") is None
    clock.set(T0)
    assert await store.oauth_states.take("state-2") is None


async def test_expiry_with_the_real_clock(store: Store) -> None:
    await store.oauth_states.put("short", "acme", "c1", DATA, ttl=0.05)
    await asyncio.sleep(0.1)
    assert await store.oauth_states.take("short") is None


async def test_purge_expired_keeps_the_live_ones(store: Store, clock: ManualClock) -> None:
    await store.oauth_states.put("old-1", "acme", "c1", DATA, ttl=10)
    await store.oauth_states.put("old-2", "acme", "c2", DATA, ttl=20)
    await store.oauth_states.put("live", "acme", "c3", DATA, ttl=600)

    clock.set(T0 + timedelta(seconds=30))
    assert await store.oauth_states.purge_expired() == 2
    assert await store.oauth_states.purge_expired() == 0
    assert await store.oauth_states.take("live") == ("acme", "c3", DATA)
    assert await store.oauth_states.purge_expired() == 0


async def test_the_data_is_encrypted_at_rest(store: Store, secrets: SecretBox) -> None:
    await store.oauth_states.put("state-1", "acme", "c1", DATA, ttl=600)

    async with store.engine.connect() as conn:
        [row] = (await conn.execute(sa.select(oauth_states))).all()
    assert b"pkce-verifier-4711" not in bytes(row.data)
    assert b"verifier" not in bytes(row.data)
    assert secrets.decrypt(row.data) == DATA
    assert (row.integration, row.connection_id) == ("acme", "c1")
    assert row.expires_at - row.created_at == timedelta(seconds=600)


async def test_another_key_cannot_open_the_data(store: Store, database_url: str) -> None:
    await store.oauth_states.put("state-1", "acme", "c1", DATA, ttl=600)
    async with await open_store(database_url, SecretBox.generate()) as other:
        with pytest.raises(SpliceError) as info:
            await other.oauth_states.take("state-1")
    assert info.value.code == "DECRYPT_FAILED"


async def test_rotate_secrets_re_encrypts_pending_states_and_drops_expired_ones(
    database_url: str, clock: ManualClock
) -> None:
    old_key, new_key = SecretBox.generate_key(), SecretBox.generate_key()
    async with await open_store(database_url, SecretBox([old_key]), clock=clock) as store:
        await store.oauth_states.put("live", "acme", "c1", DATA, ttl=600)
        await store.oauth_states.put("stale", "acme", "c2", DATA, ttl=10)
    clock.advance(60)
    async with await open_store(database_url, SecretBox([new_key, old_key]), clock=clock) as store:
        assert await store.rotate_secrets() == 1
    async with await open_store(database_url, SecretBox([new_key]), clock=clock) as store:
        assert await store.oauth_states.take("live") == ("acme", "c1", DATA)
        assert await store.oauth_states.take("stale") is None


async def test_a_state_id_cannot_be_reused_while_pending(store: Store) -> None:
    await store.oauth_states.put("state-1", "acme", "c1", DATA, ttl=600)
    with pytest.raises(AlreadyExists):
        await store.oauth_states.put("state-1", "acme", "c2", {}, ttl=600)
    assert await store.oauth_states.take("state-1") == ("acme", "c1", DATA)


@pytest.mark.parametrize(
    ("state_id", "integration", "connection_id", "data", "ttl"),
    [
        ("", "acme", "c1", {}, 60),
        ("x" * 65, "acme", "c1", {}, 60),
        (None, "acme", "c1", {}, 60),
        ("s", "", "c1", {}, 60),
        ("s", "acme", "c/1", {}, 60),
        ("s", "acme", "c1", [], 60),
        ("s", "acme", "c1", {"when": T0}, 60),
        ("s", "acme", "c1", {}, 0),
        ("s", "acme", "c1", {}, -1),
        ("s", "acme", "c1", {}, float("inf")),
        ("s", "acme", "c1", {}, float("nan")),
        ("s", "acme", "c1", {}, "60"),
        ("s", "acme", "c1", {}, True),
    ],
)
async def test_bad_input_is_refused(
    store: Store, state_id: Any, integration: Any, connection_id: Any, data: Any, ttl: Any
) -> None:
    with pytest.raises(InvalidInput):
        await store.oauth_states.put(state_id, integration, connection_id, data, ttl=ttl)
    async with store.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(oauth_states))).scalar() == 0
