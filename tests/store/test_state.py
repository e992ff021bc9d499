from __future__ import annotations

from typing import Any

import pytest

from splice.errors import InvalidInput
from splice.store import Store
from splice.store._state import StateStore


@pytest.mark.parametrize(
    "value",
    [{"a": [1, 2, {"b": None}]}, [1, "x"], "text", 3, 1.0, 2.5, True, False, None, {}, "ünï"],
)
async def test_round_trip(store: Store, value: Any) -> None:
    await store.state.put("global", "", "k", value)
    got = await store.state.get("global", "", "k", default="missing")
    assert got == value and type(got) is type(value)


async def test_get_default_and_overwrite(store: Store) -> None:
    assert await store.state.get("global", "", "k") is None
    assert await store.state.get("global", "", "k", default={"d": 1}) == {"d": 1}
    await store.state.put("global", "", "k", 1)
    await store.state.put("global", "", "k", {"v": 2})
    assert await store.state.get("global", "", "k") == {"v": 2}


async def test_scopes_are_isolated(store: Store) -> None:
    await store.state.put("integration", "acme", "k", 1)
    await store.state.put("integration", "other", "k", 2)
    await store.state.put("connection", "acme", "k", 3)
    assert await store.state.get("integration", "acme", "k") == 1
    assert await store.state.get("integration", "other", "k") == 2
    assert await store.state.get("connection", "acme", "k") == 3
    assert await store.state.get("global", "", "k") is None


async def test_delete(store: Store) -> None:
    await store.state.put("global", "", "k", 1)
    assert await store.state.delete("global", "", "k") is True
    assert await store.state.delete("global", "", "k") is False
    assert await store.state.get("global", "", "k", default=0) == 0


async def test_keys_sorted_with_prefix(store: Store) -> None:
    for key in ["b", "a_1", "a%", "aX1", "A", "ab"]:
        await store.state.put("flow", "f1", key, key)
    await store.state.put("flow", "f2", "a_other", 0)
    assert await store.state.keys("flow", "f1") == ["A", "a%", "aX1", "a_1", "ab", "b"]
    assert await store.state.keys("flow", "f1", prefix="a_") == ["a_1"]  # "_" is literal
    assert await store.state.keys("flow", "f1", prefix="a%") == ["a%"]
    assert await store.state.keys("flow", "f1", prefix="zz") == []
    assert await store.state.keys("flow", "nope") == []


async def test_delete_scope(store: Store) -> None:
    for key in "abc":
        await store.state.put("flow", "f1", key, 1)
    await store.state.put("flow", "f2", "a", 1)
    assert await store.state.delete_scope("flow", "f1") == 3
    assert await store.state.keys("flow", "f1") == []
    assert await store.state.keys("flow", "f2") == ["a"]


@pytest.mark.parametrize("bad", [{1, 2}, object(), {"when": b"bytes"}, {1: "int key"}, 2**70])
async def test_non_json_refused_and_existing_value_intact(store: Store, bad: Any) -> None:
    await store.state.put("global", "", "cursor", {"page": 3})
    with pytest.raises(InvalidInput) as info:
        await store.state.put("global", "", "cursor", bad)
    assert "'cursor'" in info.value.message
    assert type(bad).__name__ in info.value.message
    assert await store.state.get("global", "", "cursor") == {"page": 3}


async def test_datetimes_are_refused_not_stringified(store: Store) -> None:
    from datetime import UTC, datetime

    with pytest.raises(InvalidInput):
        await store.state.put("global", "", "k", {"at": datetime.now(UTC)})


@pytest.mark.parametrize("value", [float("nan"), [1, float("inf")], {"a": {"b": float("-inf")}}])
async def test_non_finite_numbers_are_refused_not_stored_as_null(store: Store, value: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        await store.state.put("global", "", "k", value)
    assert info.value.details["field"].startswith("value") and "JSON cannot represent" in info.value.message
    assert await store.state.get("global", "", "k", default="missing") == "missing"


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "\ue000", "\ue0000", "\ue000\ue000", "\ue000a", "plain"])
async def test_nul_characters_in_values_read_back_exactly(store: Store, text: str) -> None:
    value = {text: [text, {"k": text}]}
    await store.state.put("global", "", "k", value)
    assert await store.state.get("global", "", "k") == value


async def test_values_over_the_size_limit_are_refused(store: Store) -> None:
    store.state.max_value_bytes = 100
    await store.state.put("global", "", "k", "x" * 98)
    with pytest.raises(InvalidInput) as info:
        await store.state.put("global", "", "k", "x" * 99)
    assert info.value.code == "STATE_TOO_LARGE"
    assert info.value.details == {"field": "value", "bytes": 101, "limit_bytes": 100}
    assert await store.state.get("global", "", "k") == "x" * 98


@pytest.mark.parametrize(
    ("scope", "scope_id", "key"),
    [("", "", "k"), ("x" * 33, "", "k"), ("global", None, "k"), ("global", "", ""), (1, "", "k"),
     ("global", "", "a\x00b"), ("script", "acme/c\x001/x", "k")],
)  # fmt: skip
async def test_invalid_addresses(store: Store, scope: Any, scope_id: Any, key: Any) -> None:
    with pytest.raises(InvalidInput):
        await store.state.put(scope, scope_id, key, 1)
    with pytest.raises(InvalidInput):
        await store.state.get(scope, scope_id, key)
    with pytest.raises(InvalidInput):
        await store.state.delete(scope, scope_id, key)


def test_connection_scope_id() -> None:
    assert StateStore.connection_scope_id("acme", "c1") == "acme/c1"
    assert StateStore.connection_scope_id("acme", "c1", "contacts") == "acme/c1/contacts"
