"""Lookup caches' entries: keyset pages, filters, per-key results and the limits, on both backends."""

from __future__ import annotations

import pytest

from splice.errors import InvalidInput
from splice.store import Store
from splice.store._lookups import MAX_PUT_BYTES

CACHE = "acme.skus"


async def fill(store: Store, count: int, cache: str = CACHE) -> list[str]:
    keys = [f"k{i:05d}" for i in range(count)]
    for start in range(0, count, 1000):
        batch = [{"key": k, "value": f"v-{k}"} for k in keys[start : start + 1000]]
        await store.lookups.put(cache, batch)
    return keys


async def test_keyset_pages_return_each_key_once_in_order(store: Store) -> None:
    keys = await fill(store, 2500)
    seen: list[str] = []
    sizes = []
    after = None
    while True:
        page = await store.lookups.page(CACHE, limit=1000, after=after)
        if not page:
            break
        sizes.append(len(page))
        seen += [key for key, _ in page]
        after = page[-1][0]
    assert sizes == [1000, 1000, 500]
    assert seen == keys
    assert (await store.lookups.page(CACHE, keys=["k00007"]))[0] == ("k00007", "v-k00007")


async def test_keys_compare_by_code_point_on_both_backends(store: Store) -> None:
    keys = ["b", "B", "a", "ä", "Z", "a b", "a_1", "aa", "€", "😀"]
    await store.lookups.put(CACHE, [{"key": k, "value": k} for k in keys])
    assert [k for k, _ in await store.lookups.page(CACHE)] == sorted(keys)


async def test_starts_with_is_exact_and_case_sensitive(store: Store) -> None:
    keys = ["A-1", "a-1", "a-2", "a-", "a_1", "a%", "ab", "b-1", "a-\U0010ffff"]
    await store.lookups.put(CACHE, [{"key": k, "value": "x"} for k in keys])
    assert [k for k, _ in await store.lookups.page(CACHE, starts_with="a-")] == ["a-", "a-1", "a-2", "a-\U0010ffff"]
    assert [k for k, _ in await store.lookups.page(CACHE, starts_with="a%")] == ["a%"]
    assert [k for k, _ in await store.lookups.page(CACHE, starts_with="a-", limit=2, after="a-1")] == [
        "a-2",
        "a-\U0010ffff",
    ]
    assert await store.lookups.page(CACHE, starts_with="zz") == []


async def test_keys_filter_ignores_missing_and_other_caches(store: Store) -> None:
    await fill(store, 10)
    await store.lookups.put("acme.other", [{"key": "k00001", "value": "other"}])
    page = await store.lookups.page(CACHE, keys=["k00003", "k00001", "nope"])
    assert page == [("k00001", "v-k00001"), ("k00003", "v-k00003")]


async def test_put_reports_created_and_updated(store: Store) -> None:
    first = await store.lookups.put(CACHE, [{"key": "a", "value": "1"}])
    second = await store.lookups.put(CACHE, [{"key": "a", "value": "2"}, {"key": "b", "value": '{"x": 1}'}])
    assert first == [{"key": "a", "status": "created"}]
    assert second == [{"key": "a", "status": "updated"}, {"key": "b", "status": "created"}]
    assert await store.lookups.page(CACHE) == [("a", "2"), ("b", '{"x": 1}')]


async def test_a_bad_entry_fails_only_itself(store: Store) -> None:
    results = await store.lookups.put(
        CACHE,
        [
            {"key": "good", "value": "1"},
            {"key": "n", "value": 5},
            {"key": 7, "value": "x"},
            {"key": "x" * 513, "value": "x"},
            {"key": "nul\x00", "value": "x"},
            {"key": "v", "value": "nul\x00"},
            "not an entry",
            {"key": "good", "value": "again"},
            {"key": "also", "value": ""},
        ],
    )
    assert results[0] == {"key": "good", "status": "created"}
    assert results[-1] == {"key": "also", "status": "created"}
    errors = [r["error"] for r in results[1:-1]]
    assert all(e["code"] == "INVALID_INPUT" for e in errors)
    assert "value must be a string" in errors[0]["message"]
    assert "key must be a non-empty string, not int" in errors[1]["message"]
    assert "513 characters; the limit is 512" in errors[2]["message"]
    assert "NUL" in errors[3]["message"] and "NUL" in errors[4]["message"]
    assert "must be an object" in errors[5]["message"]
    assert "appears earlier" in errors[6]["message"]
    assert await store.lookups.page(CACHE) == [("also", ""), ("good", "1")]


async def test_a_put_over_1000_entries_is_refused_whole(store: Store) -> None:
    entries = [{"key": f"k{i}", "value": "v"} for i in range(1001)]
    with pytest.raises(InvalidInput) as caught:
        await store.lookups.put(CACHE, entries)
    assert caught.value.code == "LOOKUP_PUT_TOO_LARGE"
    assert "at most 1,000 entries; this one has 1,001" in caught.value.message
    assert await store.lookups.page(CACHE) == []


async def test_a_put_over_5_mb_is_refused_whole(store: Store) -> None:
    big = "x" * (MAX_PUT_BYTES // 2)
    with pytest.raises(InvalidInput) as caught:
        await store.lookups.put(CACHE, [{"key": "a", "value": big}, {"key": "b", "value": big}])
    assert caught.value.code == "LOOKUP_PUT_TOO_LARGE"
    assert f"at most {MAX_PUT_BYTES:,} bytes" in caught.value.message
    assert await store.lookups.sizes() == {}


async def test_the_cache_size_cap_refuses_a_put_whole(store: Store) -> None:
    store.lookups.max_cache_bytes = 100
    await store.lookups.put(CACHE, [{"key": "a", "value": "x" * 60}])
    with pytest.raises(InvalidInput) as caught:
        await store.lookups.put(CACHE, [{"key": "b", "value": "y" * 30}, {"key": "c", "value": "z" * 30}])
    assert caught.value.code == "LOOKUP_CACHE_FULL"
    assert "would hold 123 bytes after this put; the limit is 100" in caught.value.message
    assert "max_lookup_cache_mb" in (caught.value.hint or "")
    assert [k for k, _ in await store.lookups.page(CACHE)] == ["a"]
    # replacing a value counts its new size only; other caches have their own budget
    assert (await store.lookups.put(CACHE, [{"key": "a", "value": "x" * 90}]))[0]["status"] == "updated"
    await store.lookups.put("acme.other", [{"key": "a", "value": "x" * 90}])
    sizes = await store.lookups.sizes()
    assert (sizes[CACHE].entries, sizes[CACHE].bytes) == (1, 91)


async def test_delete_and_purge(store: Store) -> None:
    await fill(store, 5)
    await fill(store, 3, "acme.other")
    assert await store.lookups.delete(CACHE, ["k00001", "nope"]) == [
        {"key": "k00001", "deleted": True},
        {"key": "nope", "deleted": False},
    ]
    assert await store.lookups.purge(CACHE) == 4
    assert await store.lookups.page(CACHE) == []
    assert (await store.lookups.sizes())["acme.other"].entries == 3
