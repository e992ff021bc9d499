from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from splice.errors import InvalidInput
from splice.store import Store


async def test_get_is_empty_when_none_saved(store: Store) -> None:
    assert await store.checkpoints.get("acme", "c1", "contacts") == {}


async def test_save_get_overwrite(store: Store) -> None:
    await store.checkpoints.save("acme", "c1", "contacts", {"page": 1, "since": "2026-11-01", "nested": {"a": [1]}})
    assert await store.checkpoints.get("acme", "c1", "contacts") == {
        "page": 1,
        "since": "2026-11-01",
        "nested": {"a": [1]},
    }
    await store.checkpoints.save("acme", "c1", "contacts", {"page": 2})
    assert await store.checkpoints.get("acme", "c1", "contacts") == {"page": 2}
    await store.checkpoints.save("acme", "c1", "contacts", {})
    assert await store.checkpoints.get("acme", "c1", "contacts") == {}


async def test_checkpoints_are_per_integration_connection_and_sync(store: Store) -> None:
    await store.checkpoints.save("acme", "c1", "contacts", {"v": 1})
    await store.checkpoints.save("acme", "c1", "deals", {"v": 2})
    await store.checkpoints.save("acme", "c2", "contacts", {"v": 3})
    await store.checkpoints.save("other", "c1", "contacts", {"v": 4})
    assert await store.checkpoints.get("acme", "c1", "contacts") == {"v": 1}
    assert await store.checkpoints.get("acme", "c1", "deals") == {"v": 2}
    assert await store.checkpoints.get("acme", "c2", "contacts") == {"v": 3}
    assert await store.checkpoints.get("other", "c1", "contacts") == {"v": 4}


async def test_clear_one_or_all_of_a_connection(store: Store) -> None:
    for sync in ("contacts", "deals"):
        await store.checkpoints.save("acme", "c1", sync, {"v": 1})
    await store.checkpoints.save("acme", "c2", "contacts", {"v": 1})
    assert await store.checkpoints.clear("acme", "c1", "contacts") == 1
    assert await store.checkpoints.clear("acme", "c1", "contacts") == 0
    assert await store.checkpoints.get("acme", "c1", "contacts") == {}
    assert await store.checkpoints.get("acme", "c1", "deals") == {"v": 1}
    assert await store.checkpoints.clear("acme", "c1") == 1
    assert await store.checkpoints.get("acme", "c2", "contacts") == {"v": 1}


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ([1, 2], "list"),
        ("page=2", "str"),
        (None, "NoneType"),
        ({"at": datetime(2026, 1, 1, tzinfo=UTC)}, "datetime"),
        ({"ids": {1, 2}}, "set"),
        ({1: "non-string key"}, "dict"),
    ],
)
async def test_value_that_is_not_a_json_dict_is_refused_and_the_stored_one_kept(
    store: Store, value: Any, named: str
) -> None:
    await store.checkpoints.save("acme", "c1", "contacts", {"page": 1})
    with pytest.raises(InvalidInput) as info:
        await store.checkpoints.save("acme", "c1", "contacts", value)
    assert info.value.code == "INVALID_CHECKPOINT"
    assert named in info.value.message and "contacts" in info.value.message
    assert await store.checkpoints.get("acme", "c1", "contacts") == {"page": 1}


@pytest.mark.parametrize(
    ("integration", "connection_id", "sync"),
    [("", "c1", "s"), ("acme", "c/1", "s"), ("acme", "c1", ""), ("acme", "c1", "x" * 256), ("acme", 1, "s")],
)
async def test_bad_names(store: Store, integration: Any, connection_id: Any, sync: Any) -> None:
    with pytest.raises(InvalidInput):
        await store.checkpoints.save(integration, connection_id, sync, {})
    with pytest.raises(InvalidInput):
        await store.checkpoints.get(integration, connection_id, sync)
