from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa

from splice.errors import InvalidInput, NotFound
from splice.store import SecretBox, Store, open_store
from splice.store._env import CACHE_SECONDS
from splice.store._schema import env_vars


async def test_set_names_all(store: Store) -> None:
    assert await store.env.names() == []
    assert await store.env.all() == {}
    await store.env.set("REGION", "eu")
    await store.env.set("API_TOKEN", "tok-secret-123")
    await store.env.set("_X1", "")
    assert await store.env.names() == ["API_TOKEN", "REGION", "_X1"]
    assert await store.env.all() == {"API_TOKEN": "tok-secret-123", "REGION": "eu", "_X1": ""}


async def test_set_overwrites(store: Store) -> None:
    await store.env.set("REGION", "eu")
    await store.env.set("REGION", "us")
    assert await store.env.all() == {"REGION": "us"}


async def test_values_encrypted_at_rest(store: Store, secrets: SecretBox) -> None:
    await store.env.set("API_TOKEN", "tok-secret-123")
    async with store.engine.connect() as conn:
        raw = (await conn.execute(sa.select(env_vars.c.value))).scalar_one()
    assert b"tok-secret-123" not in raw
    assert secrets.decrypt(raw) == "tok-secret-123"


async def test_unset(store: Store) -> None:
    await store.env.set("REGION", "eu")
    await store.env.unset("REGION")
    assert await store.env.names() == []
    with pytest.raises(NotFound) as info:
        await store.env.unset("REGION")
    assert "REGION" in info.value.message


@pytest.mark.parametrize("name", ["region", "1ABC", "A-B", "", "A B", "X" * 256, 5])
async def test_invalid_names(store: Store, name: object) -> None:
    with pytest.raises(InvalidInput) as info:
        await store.env.set(name, "v")  # type: ignore[arg-type]
    assert repr(name)[:30] in info.value.message


async def test_value_must_be_string(store: Store) -> None:
    with pytest.raises(InvalidInput):
        await store.env.set("N", 5)  # type: ignore[arg-type]


async def test_all_sees_its_own_changes_at_once_and_another_process_s_within_the_cache_time(
    store: Store, database_url: str, secrets: SecretBox
) -> None:
    await store.env.set("REGION", "eu")
    assert await store.env.all() == {"REGION": "eu"}
    await store.env.set("REGION", "us")
    assert await store.env.all() == {"REGION": "us"}
    other = await open_store(database_url, secrets)  # another process's store, as far as caching goes
    try:
        await other.env.set("REGION", "ap")
        await other.env.set("EXTRA", "1")
        deadline = time.monotonic() + CACHE_SECONDS + 1.0
        while (seen := await store.env.all()) != {"REGION": "ap", "EXTRA": "1"}:
            assert time.monotonic() < deadline, f"still {seen} after {CACHE_SECONDS} s"
            await asyncio.sleep(0.05)
    finally:
        await other.close()
    (await store.env.all())["REGION"] = "changed by a caller"
    assert (await store.env.all())["REGION"] == "ap"
