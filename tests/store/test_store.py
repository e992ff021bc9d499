from __future__ import annotations

import pytest
import sqlalchemy as sa

import splice.store
from splice.errors import SpliceError
from splice.store import SecretBox, open_store
from splice.store._schema import connections, env_vars


def test_public_api_is_curated_and_sorted() -> None:
    expected = [
        "RECORD_FILTERS", "RUN_STATUSES",
        "AccessToken", "CacheSize", "Connection", "DeployStore", "FlowStore", "LogLine", "LogRecord", "LookupStore",
        "OAuthStateStore", "ProjectVersion", "RecordPage",
        "ResourceStore", "RunError", "RunErrorStore", "RunRecord", "SaveResult", "ScheduleStore", "SecretBox",
        "Store", "StoredFlow", "StoredResource", "Stream", "SyncSchedule", "TokenScope", "TokenStore",
        "WebhookDeliveryStore", "open_store", "short_id",
    ]  # fmt: skip
    assert splice.store.__all__ == expected
    assert all(hasattr(splice.store, name) for name in expected)


async def _raw_tokens(url: str) -> list[bytes]:
    store = await open_store(url, SecretBox.generate())
    try:
        async with store.engine.connect() as conn:
            creds = (await conn.execute(sa.select(connections.c.credentials))).scalars().all()
            values = (await conn.execute(sa.select(env_vars.c.value))).scalars().all()
        return [*creds, *values]
    finally:
        await store.close()


async def test_rotate_secrets(database_url: str) -> None:
    old_key, new_key = SecretBox.generate_key(), SecretBox.generate_key()
    async with await open_store(database_url, SecretBox([old_key])) as store:
        await store.connections.create("acme", "c1", {"api_key": "one"})
        await store.connections.create("acme", "c2", {"api_key": "two"})
        await store.env.set("TOKEN", "three")
    before = await _raw_tokens(database_url)

    # new primary key, old key still configured: old data stays readable
    async with await open_store(database_url, SecretBox([new_key, old_key])) as store:
        assert (await store.connections.get("acme", "c1")).credentials == {"api_key": "one"}
        assert await store.rotate_secrets() == 3
    after = await _raw_tokens(database_url)
    assert set(before).isdisjoint(after)

    # after rotation the new key alone opens everything
    async with await open_store(database_url, SecretBox([new_key])) as store:
        found = await store.connections.find()
        assert [c.credentials for c in found] == [{"api_key": "one"}, {"api_key": "two"}]
        assert await store.env.all() == {"TOKEN": "three"}

    # and the old key alone no longer does
    async with await open_store(database_url, SecretBox([old_key])) as store:
        with pytest.raises(SpliceError) as info:
            await store.connections.get("acme", "c1")
        assert info.value.code == "DECRYPT_FAILED"
        with pytest.raises(SpliceError):
            await store.env.all()


async def test_rotate_secrets_is_all_or_nothing(database_url: str) -> None:
    key_a, key_b = SecretBox.generate_key(), SecretBox.generate_key()
    async with await open_store(database_url, SecretBox([key_a])) as store:
        await store.connections.create("acme", "c1", {"k": 1})
    async with await open_store(database_url, SecretBox([key_b])) as store:
        await store.connections.create("acme", "c2", {"k": 2})
        before = await _raw_tokens(database_url)
        with pytest.raises(SpliceError) as info:
            await store.rotate_secrets()  # c1 cannot be opened with key_b
        assert info.value.code == "DECRYPT_FAILED"
    assert await _raw_tokens(database_url) == before


async def test_rotate_empty_store(store: splice.store.Store) -> None:
    assert await store.rotate_secrets() == 0


async def test_wrong_key_on_read_is_decrypt_failed(database_url: str) -> None:
    async with await open_store(database_url, SecretBox.generate()) as store:
        await store.connections.create("acme", "c1", {"k": 1})
    async with await open_store(database_url, SecretBox.generate()) as store:
        with pytest.raises(SpliceError) as info:
            await store.connections.get("acme", "c1")
        assert info.value.code == "DECRYPT_FAILED"
        # non-secret data is still readable
        assert await store.connections.get_metadata("acme", "c1") == {}
