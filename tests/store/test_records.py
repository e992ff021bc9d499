from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import orjson
import pytest
import sqlalchemy as sa

from splice.errors import InvalidInput, SpliceError
from splice.store import SecretBox, Store, open_store
from splice.store import _engine as engine_module
from splice.store import _records as records_module
from splice.store._record_codec import (
    MAX_RECORD_BYTES,
    RecordCipher,
    cursor_prefix,
    decode_cursor,
    deep_merge,
    encode_cursor,
)
from splice.store._record_sql import Changes, PostgresRecordSQL, SQLiteRecordSQL
from splice.store._records import RecordPage, Stream

S = Stream("acme", "c1", "Contact")


def meta(record: dict[str, Any]) -> dict[str, Any]:
    return record["_splice"]


async def read_all(store: Store, stream: Stream = S, **kwargs: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await store.records.read(stream, cursor=cursor, **kwargs)
        out += page.records
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


async def by_id(store: Store, stream: Stream = S) -> dict[str, dict[str, Any]]:
    return {str(r["id"]): r for r in await read_all(store, stream, limit=10_000)}


# --- saving ------------------------------------------------------------------------------


async def test_save_and_read_back_with_metadata(store: Store) -> None:
    result = await store.records.save(S, [{"id": 1, "name": "Ada", "tags": ["x"]}, {"id": 2}], run_id="r1")
    assert (result.added, result.updated, result.unchanged, result.rejected) == (2, 0, 0, [])
    page = await store.records.read(S)
    assert page.next_cursor is None
    assert [r["id"] for r in page.records] == [1, 2]  # payload as saved (an int id stays an int)
    first = page.records[0]
    assert {k: v for k, v in first.items() if k != "_splice"} == {"id": 1, "name": "Ada", "tags": ["x"]}
    m = meta(first)
    assert set(m) == {"first_seen_at", "last_modified_at", "last_action", "deleted_at", "cursor"}
    assert m["last_action"] == "ADDED" and m["deleted_at"] is None
    assert m["first_seen_at"] == m["last_modified_at"]
    assert m["first_seen_at"].tzinfo is not None
    assert abs(m["first_seen_at"] - datetime.now(UTC)) < timedelta(minutes=1)
    assert isinstance(m["cursor"], str)
    assert await store.records.read(S, ids=["1"]) == RecordPage([first], None)  # ids compared as strings
    assert await store.records.count(S) == {"live": 2, "deleted": 0}


async def test_last_item_of_an_id_in_a_batch_wins(store: Store) -> None:
    result = await store.records.save(S, [{"id": "a", "v": 1}, {"id": "b"}, {"id": "a", "v": 3}], run_id="r1")
    assert (result.added, result.updated, result.unchanged) == (2, 0, 0)
    records = await by_id(store)
    assert records["a"]["v"] == 3 and len(records) == 2


async def test_unchanged_record_keeps_modified_time_action_and_cursor(store: Store) -> None:
    await store.records.save(S, [{"id": "a", "v": 1, "w": {"x": 1, "y": 2}}, {"id": "b", "v": 1}], run_id="r1")
    before = await by_id(store)
    await asyncio.sleep(0.002)
    # same content, keys in another order: unchanged
    result = await store.records.save(S, [{"w": {"y": 2, "x": 1}, "v": 1, "id": "a"}, {"id": "b", "v": 2}], run_id="r2")
    assert (result.added, result.updated, result.unchanged) == (0, 1, 1)
    after = await by_id(store)
    assert meta(after["a"]) == meta(before["a"])
    b0, b1 = meta(before["b"]), meta(after["b"])
    assert b1["last_action"] == "UPDATED" and after["b"]["v"] == 2
    assert b1["first_seen_at"] == b0["first_seen_at"] and b1["last_modified_at"] > b0["last_modified_at"]
    assert _cursor(b1["cursor"]) > _cursor(b0["cursor"]) > _cursor(meta(after["a"])["cursor"])


def _cursor(token: str) -> int:
    return decode_cursor(token, S.tag)[1]


async def test_every_change_gets_a_new_increasing_cursor(store: Store) -> None:
    await store.records.save(S, [{"id": i} for i in range(5)], run_id="r1")
    await store.records.save(S, [{"id": 2, "v": 1}], run_id="r1")
    await store.records.delete(S, [0], run_id="r1")
    records = await read_all(store, limit=2)
    assert [r["id"] for r in records] == [1, 3, 4, 2, 0]
    assert [_cursor(meta(r)["cursor"]) for r in records] == [2, 4, 5, 6, 7]


async def test_streams_are_isolated(store: Store) -> None:
    other_connection, other_model = Stream("acme", "c2", "Contact"), Stream("acme", "c1", "Deal")
    await store.records.save(S, [{"id": 1, "v": "s"}], run_id="r1")
    await store.records.save(other_connection, [{"id": 1, "v": "c2"}], run_id="r1")
    await store.records.save(other_model, [{"id": 1, "v": "deal"}], run_id="r1")
    assert [r["v"] for r in await read_all(store)] == ["s"]
    assert [r["v"] for r in await read_all(store, other_connection)] == ["c2"]
    assert [r["v"] for r in await read_all(store, other_model)] == ["deal"]
    assert await read_all(store, Stream("acme", "c9", "Contact")) == []


async def test_splice_metadata_in_a_saved_item_is_ignored(store: Store) -> None:
    await store.records.save(S, [{"id": 1, "v": 1}], run_id="r1")
    [record] = await read_all(store)
    record["v"] = 2
    await store.records.save(S, [record], run_id="r1")  # a record read back and saved again
    [again] = await read_all(store)
    assert again["v"] == 2 and meta(again)["last_action"] == "UPDATED"
    assert orjson.loads(orjson.dumps({k: v for k, v in again.items() if k != "_splice"})) == {"id": 1, "v": 2}


# --- bad input ---------------------------------------------------------------------------


async def test_mixed_id_types_are_refused_and_nothing_saved(store: Store) -> None:
    with pytest.raises(InvalidInput) as info:
        await store.records.save(S, [{"id": 1}, {"id": 2}, {"id": "3"}], run_id="r1")
    assert info.value.code == "MIXED_ID_TYPES"
    assert "item 0" in info.value.message and "item 2" in info.value.message
    assert await read_all(store) == []


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ({"name": "no id"}, "item 1 has no id"),
        ({"id": None}, "item 1 has no id"),
        ({"id": ""}, "item 1 has no id"),
        ({"id": 1.5}, "item 1 has an id of type float"),
        ({"id": True}, "item 1 has an id of type bool"),
        ("not a dict", "item 1 is a str"),
    ],
)
async def test_items_without_a_usable_id_are_refused_by_index(store: Store, item: Any, says: str) -> None:
    with pytest.raises(InvalidInput) as info:
        await store.records.save(S, [{"id": "a"}, item], run_id="r1")
    assert says in info.value.message
    assert info.value.code == "INVALID_RECORD" and info.value.details == {"index": 1}
    assert await read_all(store) == []


async def test_oversized_record_is_rejected_and_the_rest_saved(store: Store) -> None:
    big = {"id": "big", "blob": "x" * MAX_RECORD_BYTES}
    result = await store.records.save(S, [{"id": "a"}, big, {"id": "b"}], run_id="r1")
    assert (result.added, result.updated, result.unchanged) == (2, 0, 0)
    [rejected] = result.rejected
    assert rejected["id"] == "big" and "over the limit of 1,048,576" in rejected["reason"]
    assert set(await by_id(store)) == {"a", "b"}


async def test_size_limit_is_configurable(store: Store) -> None:
    store.records.max_record_bytes = 100
    result = await store.records.save(S, [{"id": 1, "v": "x" * 200}, {"id": 2}], run_id="r1")
    assert result.added == 1 and [r["id"] for r in result.rejected] == ["1"]
    await store.records.save(S, [{"id": 2, "v": 1}], run_id="r1")
    update = await store.records.update(S, [{"id": 2, "v": "y" * 200}], run_id="r1")
    assert update.updated == 0 and update.rejected[0]["id"] == "2" and "over the limit" in update.rejected[0]["reason"]
    assert (await by_id(store))["2"]["v"] == 1


async def test_non_json_record_is_rejected_by_id(store: Store) -> None:
    result = await store.records.save(S, [{"id": "a", "at": datetime.now(UTC)}, {"id": "b"}], run_id="r1")
    assert result.added == 1
    assert result.rejected[0]["id"] == "a" and "not JSON-serialisable" in result.rejected[0]["reason"]


@pytest.mark.parametrize("limit", [0, -1, 10_001, 1.5, "10", True])
async def test_limit_bounds(store: Store, limit: Any) -> None:
    with pytest.raises(InvalidInput, match="limit must be an integer from 1 to 10,000"):
        await store.records.read(S, limit=limit)


async def test_limit_extremes_accepted(store: Store) -> None:
    await store.records.save(S, [{"id": i} for i in range(3)], run_id="r1")
    assert len((await store.records.read(S, limit=1)).records) == 1
    assert len((await store.records.read(S, limit=10_000)).records) == 3


@pytest.mark.parametrize("bad", [set(), {"removed"}, "added", {"added", "nope"}])
async def test_bad_filter(store: Store, bad: Any) -> None:
    with pytest.raises(InvalidInput, match="filter"):
        await store.records.read(S, filter=bad)


# --- update and delete -------------------------------------------------------------------


async def test_update_deep_merges(store: Store) -> None:
    stored = {"id": "a", "name": "Ada", "address": {"city": "X", "zip": "1", "geo": {"lat": 1}}, "tags": [1, 2]}
    await store.records.save(S, [stored, {"id": "b", "v": 1}], run_id="r1")
    patch = {"id": "a", "address": {"city": "Y", "geo": {"lng": 2}}, "tags": [3], "new": None}
    result = await store.records.update(S, [patch, {"id": "zzz", "v": 1}, {"id": "b", "v": 1}], run_id="r2")
    assert (result.added, result.updated, result.unchanged) == (0, 1, 1)
    assert result.rejected == [{"id": "zzz", "reason": "not found"}]
    a = (await by_id(store))["a"]
    assert {k: v for k, v in a.items() if k != "_splice"} == {
        "id": "a",
        "name": "Ada",
        "address": {"city": "Y", "zip": "1", "geo": {"lat": 1, "lng": 2}},
        "tags": [3],
        "new": None,
    }
    assert meta(a)["last_action"] == "UPDATED"
    assert "zzz" not in await by_id(store)


def test_deep_merge_rules() -> None:
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}
    assert deep_merge({"a": {"b": 1}}, {"a": 5}) == {"a": 5}
    assert deep_merge({"a": 5}, {"a": {"b": 1}}) == {"a": {"b": 1}}
    assert deep_merge({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}
    original = {"a": {"b": 1}}
    deep_merge(original, {"a": {"c": 1}})
    assert original == {"a": {"b": 1}}  # inputs untouched


async def test_soft_delete_is_readable_and_filterable(store: Store) -> None:
    await store.records.save(S, [{"id": i, "v": i} for i in range(4)], run_id="r1")
    await store.records.save(S, [{"id": 3, "v": 30}], run_id="r1")
    assert await store.records.delete(S, [1, {"id": 2, "v": "ignored"}, 99], run_id="r2") == 2
    assert await store.records.delete(S, [1], run_id="r2") == 0  # already deleted: no new cursor
    records = await by_id(store)
    assert records["1"]["v"] == 1 and meta(records["1"])["last_action"] == "DELETED"
    assert meta(records["1"])["deleted_at"] == meta(records["1"])["last_modified_at"]
    assert meta(records["0"])["deleted_at"] is None
    assert [r["id"] for r in await read_all(store, filter={"deleted"})] == [1, 2]
    assert [r["id"] for r in await read_all(store, filter={"added"})] == [0]
    assert [r["id"] for r in await read_all(store, filter={"updated", "deleted"})] == [3, 1, 2]
    assert await store.records.count(S) == {"live": 2, "deleted": 2}


async def test_deleted_record_saved_again_is_restored_as_updated(store: Store) -> None:
    await store.records.save(S, [{"id": "a", "v": 1}], run_id="r1")
    await store.records.delete(S, ["a"], run_id="r1")
    result = await store.records.save(S, [{"id": "a", "v": 1}], run_id="r2")  # same content
    assert (result.added, result.updated) == (0, 1)
    [record] = await read_all(store)
    assert meta(record)["last_action"] == "UPDATED" and meta(record)["deleted_at"] is None
    assert await store.records.count(S) == {"live": 1, "deleted": 0}
    await store.records.delete(S, ["a"], run_id="r3")
    result = await store.records.update(S, [{"id": "a", "w": 2}], run_id="r4")
    assert result.updated == 1
    assert {k: v for k, v in (await read_all(store))[0].items() if k != "_splice"} == {"id": "a", "v": 1, "w": 2}


async def test_delete_refuses_mixed_ids_and_unknown_stream_is_zero(store: Store) -> None:
    with pytest.raises(InvalidInput) as info:
        await store.records.delete(S, [1, "2"], run_id="r1")
    assert info.value.code == "MIXED_ID_TYPES"
    assert await store.records.delete(Stream("acme", "none", "Contact"), [1], run_id="r1") == 0
    assert await store.records.delete_unseen(Stream("acme", "none", "Contact"), "r1") == 0


async def test_delete_unseen(store: Store) -> None:
    await store.records.save(S, [{"id": i} for i in range(6)], run_id="r1", mark_seen=True)
    await store.records.save(S, [{"id": 0}, {"id": 1, "v": "changed"}], run_id="r2", mark_seen=True)
    await store.records.save(S, [{"id": 2}], run_id="r2", mark_seen=True)  # unchanged, still seen
    await store.records.save(S, [{"id": 3}], run_id="r2")  # saved without mark_seen: unseen
    await store.records.delete(S, [5], run_id="r2")
    assert await store.records.delete_unseen(S, "r2") == 2  # 3 and 4; 5 was already deleted
    records = await by_id(store)
    assert {rid for rid, r in records.items() if meta(r)["deleted_at"]} == {"3", "4", "5"}
    assert await store.records.count(S) == {"live": 3, "deleted": 3}
    assert await store.records.delete_unseen(S, "r2") == 0
    # a run that saved nothing with mark_seen saw nothing: every live record goes
    assert await store.records.delete_unseen(S, "r3") == 3


async def test_reset_hard_deletes_records_but_keeps_checkpoints(store: Store) -> None:
    deal, other = Stream("acme", "c1", "Deal"), Stream("acme", "c2", "Contact")
    for stream in (S, deal, other):
        await store.records.save(stream, [{"id": 1}, {"id": 2}], run_id="r1", checkpoint=("contacts", {"p": 1}))
    old_cursor = (await store.records.read(S, limit=1)).next_cursor
    assert await store.records.reset("acme", "c1", ["Deal"]) == 2
    assert await read_all(store, deal) == [] and await store.records.count(deal) == {"live": 0, "deleted": 0}
    assert len(await read_all(store)) == 2
    assert await store.records.reset("acme", "c1") == 2
    assert await read_all(store) == [] and len(await read_all(store, other)) == 2
    assert await store.checkpoints.get("acme", "c1", "contacts") == {"p": 1}
    await store.records.save(S, [{"id": 7}], run_id="r2")  # the stream starts again
    with pytest.raises(InvalidInput, match="before the stream's records were reset") as info:
        await store.records.read(S, cursor=old_cursor)
    assert info.value.code == "INVALID_CURSOR"
    assert [r["id"] for r in await read_all(store)] == [7]


# --- checkpoints with records ------------------------------------------------------------


async def test_checkpoint_saved_with_records(store: Store) -> None:
    result = await store.records.save(S, [{"id": 1}], run_id="r1", checkpoint=("contacts", {"page": 2}))
    assert result.added == 1
    assert await store.checkpoints.get("acme", "c1", "contacts") == {"page": 2}
    await store.records.save(S, [], run_id="r1", checkpoint=("contacts", {"page": 3}))  # empty batch: still saved
    assert await store.checkpoints.get("acme", "c1", "contacts") == {"page": 3}


@pytest.mark.parametrize("bad", [["page", 2], {"at": datetime(2026, 1, 1)}, {"s": {1, 2}}, ("only",)])
async def test_invalid_checkpoint_saves_neither_records_nor_checkpoint(store: Store, bad: Any) -> None:
    await store.records.save(S, [{"id": 1, "v": 1}], run_id="r1", checkpoint=("contacts", {"page": 1}))
    checkpoint = ("contacts", bad) if bad != ("only",) else bad
    with pytest.raises(InvalidInput) as info:
        await store.records.save(S, [{"id": 1, "v": 2}, {"id": 2}], run_id="r2", checkpoint=checkpoint)
    assert info.value.code == "INVALID_CHECKPOINT"
    assert [(r["id"], r["v"]) for r in await read_all(store)] == [(1, 1)]
    assert await store.checkpoints.get("acme", "c1", "contacts") == {"page": 1}


async def test_failure_inside_the_transaction_rolls_back_records_and_checkpoint(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.records.save(S, [{"id": 1, "v": 1}], run_id="r1", checkpoint=("contacts", {"page": 1}))
    before = await by_id(store)
    calls = []

    async def failing_checkpoint(*args: Any) -> None:
        calls.append(args)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(records_module, "write_checkpoint", failing_checkpoint)
    with pytest.raises(RuntimeError, match="disk on fire"):
        await store.records.save(S, [{"id": 1, "v": 2}, {"id": 2}], run_id="r2", checkpoint=("contacts", {"page": 2}))
    assert calls  # the records had been written in the transaction when it failed
    monkeypatch.undo()
    assert await by_id(store) == before
    assert await store.checkpoints.get("acme", "c1", "contacts") == {"page": 1}
    assert await store.records.count(S) == {"live": 1, "deleted": 0}
    # the cursor counter rolled back too: the next change continues where it was
    await store.records.save(S, [{"id": 2}], run_id="r3")
    assert _cursor(meta((await by_id(store))["2"])["cursor"]) == 2


async def test_failure_after_the_rows_are_written_rolls_back_the_batch(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.records.save(S, [{"id": 1, "v": 1}], run_id="r1")
    before = await by_id(store)
    lite_apply, pg_apply = SQLiteRecordSQL.apply, PostgresRecordSQL.apply

    def failing_lite(self: SQLiteRecordSQL, db: sqlite3.Connection, changes: Changes) -> None:
        lite_apply(self, db, changes)
        raise RuntimeError("disk on fire")

    async def failing_pg(self: PostgresRecordSQL, conn: Any, changes: Changes) -> None:
        await pg_apply(self, conn, changes)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(SQLiteRecordSQL, "apply", failing_lite)
    monkeypatch.setattr(PostgresRecordSQL, "apply", failing_pg)
    for _ in range(3):  # every pooled connection is left usable, outside any transaction
        with pytest.raises(RuntimeError, match="disk on fire"):
            await store.records.save(S, [{"id": 1, "v": 2}, {"id": 2}], run_id="r2")
    monkeypatch.undo()
    assert await by_id(store) == before
    assert await store.records.count(S) == {"live": 1, "deleted": 0}
    for i in range(3):
        await store.records.save(S, [{"id": 2, "v": i}], run_id="r3")
    assert _cursor(meta((await by_id(store))["2"])["cursor"]) == 4


# --- SQLite: one round trip to the driver's thread ---------------------------------------


@pytest.fixture
async def sqlite_store(tmp_path: Path, secrets: SecretBox) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite:///{tmp_path / 'splice.db'}", secrets)
    try:
        yield opened
    finally:
        await opened.close()


async def test_sqlite_saves_and_reads_are_one_round_trip_each(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pins the point of running them whole on aiosqlite's thread, and the private aiosqlite
    API that does it (``Connection._execute``): an upgrade that changes it fails here."""
    trips: list[Any] = []
    execute = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(fn)
        return await execute(self, fn, *args, **kwargs)

    await sqlite_store.records.read(S)  # the pool holds a connection from here on
    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    for batch in ([{"id": i, "v": 1} for i in range(1500)], [{"id": 1, "v": 2}], [{"id": 1, "v": 2}]):
        trips.clear()
        await sqlite_store.records.save(S, batch, run_id="r1", mark_seen=True)
        assert len(trips) == 1
    for write in (
        sqlite_store.records.update(S, [{"id": 2, "w": 1}], run_id="r1"),
        sqlite_store.records.delete(S, [3], run_id="r1"),
        sqlite_store.records.delete_unseen(S, "r2"),
        sqlite_store.records.read(S, limit=10),
    ):
        trips.clear()
        await write
        assert len(trips) == 1
    assert await sqlite_store.records.count(S) == {"live": 0, "deleted": 1500}


async def test_a_cancelled_sqlite_save_is_rolled_back(sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    await sqlite_store.records.save(S, [{"id": 1}], run_id="r1")
    entered, release = threading.Event(), threading.Event()
    lite_apply = SQLiteRecordSQL.apply

    def slow_apply(self: SQLiteRecordSQL, db: sqlite3.Connection, changes: Changes) -> None:
        entered.set()
        release.wait(10)
        lite_apply(self, db, changes)

    monkeypatch.setattr(SQLiteRecordSQL, "apply", slow_apply)
    task = asyncio.create_task(sqlite_store.records.save(S, [{"id": 2}], run_id="r1"))
    assert await asyncio.to_thread(entered.wait, 10)
    task.cancel()
    for _ in range(5):  # the task takes the cancellation while the thread still writes
        await asyncio.sleep(0)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    monkeypatch.undo()
    await sqlite_store.records.save(S, [{"id": 3}], run_id="r1")  # waits for the write lock
    records = await by_id(sqlite_store)
    assert sorted(records) == ["1", "3"] and _cursor(meta(records["3"])["cursor"]) == 2


def _records_in_main_file(path: Path, copy: Path) -> int:
    """Records in the database file itself, not counting what is only in its WAL."""
    shutil.copyfile(path, copy)
    db = sqlite3.connect(copy)
    try:
        return int(db.execute("SELECT count(*) FROM records").fetchone()[0])
    except sqlite3.DatabaseError:  # copied while a checkpoint wrote, or before the table got there
        return -1
    finally:
        db.close()


async def test_wal_is_checkpointed_off_the_commit_path(
    tmp_path: Path, secrets: SecretBox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "_CHECKPOINT_BYTES", 1)
    path = tmp_path / "splice.db"
    store = await open_store(f"sqlite:///{path}", secrets)
    try:
        await store.records.save(S, [{"id": i} for i in range(50)], run_id="r1")
        deadline = time.monotonic() + 30  # generous: another test may keep the disk busy (the 1 GB file's)
        while await asyncio.to_thread(_records_in_main_file, path, tmp_path / "copy.db") != 50:
            if time.monotonic() > deadline:
                pytest.fail("the records never reached the main database file")
            await asyncio.sleep(0.01)
        assert any(t.name == "splice-wal-checkpoint" for t in threading.enumerate())
    finally:
        await store.close()
    assert not any(t.name == "splice-wal-checkpoint" for t in threading.enumerate())


# --- reading -----------------------------------------------------------------------------


async def test_keyset_pages_while_records_change_between_pages(store: Store) -> None:
    await store.records.save(S, [{"id": i, "v": 0} for i in range(50)], run_id="r1")
    seen: list[tuple[int, int]] = []
    cursor, turn = None, 0
    while True:
        page = await store.records.read(S, cursor=cursor, limit=7)
        seen += [(r["id"], r["v"]) for r in page.records]
        turn += 1
        if turn <= 3:  # between pages: change records behind and ahead of the reader, add, delete
            behind = [rid for rid, _ in seen[:2]]
            await store.records.save(S, [{"id": rid, "v": turn} for rid in [*behind, 40 + turn]], run_id="r2")
            await store.records.save(S, [{"id": 100 + turn, "v": turn}], run_id="r2")
            await store.records.delete(S, [45 + turn], run_id="r2")
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    ids = [rid for rid, _ in seen]
    final = {int(k): v for k, v in (await by_id(store)).items()}
    # nothing missed: every record's latest version was delivered
    assert set(ids) == set(final)
    assert all((rid, record["v"]) in seen for rid, record in final.items())
    # records never changed while reading came exactly once; a record changed behind the
    # reader comes again (it is a change feed), one changed ahead comes once, in its new version
    changed_behind = {0, 1}
    for rid in final:
        assert ids.count(rid) == (2 if rid in changed_behind else 1), rid
    assert ids.count(0) == 2 and seen[ids.index(41)] == (41, 1)


async def test_cursor_resumes_after_the_last_page(store: Store) -> None:
    await store.records.save(S, [{"id": i} for i in range(3)], run_id="r1")
    page = await store.records.read(S, limit=10)
    assert page.next_cursor is None
    resume = meta(page.records[-1])["cursor"]
    assert (await store.records.read(S, cursor=resume)).records == []
    await store.records.save(S, [{"id": 1, "v": 1}, {"id": 9}], run_id="r2")
    assert [r["id"] for r in (await store.records.read(S, cursor=resume)).records] == [1, 9]


async def test_modified_after(store: Store) -> None:
    await store.records.save(S, [{"id": i} for i in range(3)], run_id="r1")
    await asyncio.sleep(0.01)
    mark = datetime.now(UTC)
    await asyncio.sleep(0.01)
    await store.records.save(S, [{"id": 1, "v": 1}, {"id": 7}], run_id="r2")
    await store.records.delete(S, [2], run_id="r2")
    assert [r["id"] for r in await read_all(store, modified_after=mark, limit=1)] == [1, 7, 2]
    naive = mark.replace(tzinfo=None)  # naive is taken as UTC
    assert [r["id"] for r in await read_all(store, modified_after=naive)] == [1, 7, 2]
    assert await read_all(store, modified_after=datetime.now(UTC) + timedelta(seconds=5)) == []


async def test_ids_filter_and_combinations(store: Store) -> None:
    await store.records.save(S, [{"id": f"r{i}"} for i in range(10)], run_id="r1")
    await store.records.delete(S, ["r3", "r4"], run_id="r1")
    assert [r["id"] for r in await read_all(store, ids=["r4", "r1", "nope", "r3"], limit=1)] == ["r1", "r3", "r4"]
    assert [r["id"] for r in await read_all(store, ids=["r4", "r1"], filter={"deleted"})] == ["r4"]
    with pytest.raises(InvalidInput, match="at most 10,000"):
        await store.records.read(S, ids=[str(i) for i in range(10_001)])


@pytest.mark.parametrize("bad", ["", "not-a-cursor", "!!!", "MTp4", "Mjp4OjE6Mg", 12, "MToxMDZlYWI4YTQ5MDM6MTotMw"])
async def test_malformed_cursor(store: Store, bad: Any) -> None:
    await store.records.save(S, [{"id": 1}], run_id="r1")
    with pytest.raises(InvalidInput, match="malformed cursor") as info:
        await store.records.read(S, cursor=bad)
    assert info.value.code == "INVALID_CURSOR"


async def test_cursor_from_another_model_or_connection(store: Store) -> None:
    for stream in (S, Stream("acme", "c1", "Deal"), Stream("acme", "c2", "Contact")):
        await store.records.save(stream, [{"id": 1}, {"id": 2}], run_id="r1")
    for other in (Stream("acme", "c1", "Deal"), Stream("acme", "c2", "Contact")):
        foreign = (await store.records.read(other, limit=1)).next_cursor
        with pytest.raises(InvalidInput, match="another stream") as info:
            await store.records.read(S, cursor=foreign)
        assert info.value.code == "INVALID_CURSOR"


def test_cursor_codec_round_trip() -> None:
    token = encode_cursor(cursor_prefix(S.tag, 12), 345)
    assert decode_cursor(token, S.tag) == (12, 345)
    assert "=" not in token and "345" not in token


async def test_concurrent_writers_get_distinct_cursors(database_url: str, secrets: SecretBox) -> None:
    stores = [await open_store(database_url, secrets) for _ in range(3)]
    try:

        async def writer(store: Store, n: int) -> None:
            for batch in range(5):
                await store.records.save(S, [{"id": f"{n}-{batch}-{i}"} for i in range(20)], run_id=f"r{n}")
                await store.records.save(S, [{"id": f"{n}-{batch}-0", "v": 1}], run_id=f"r{n}")

        done = asyncio.Event()
        delivered: dict[str, int] = {}

        async def reader(store: Store) -> None:
            # pages while the writers commit, then drains: a commit it missed would show up
            # as a record whose final version it never saw
            cursor = None
            while True:
                finished = done.is_set()
                page = await store.records.read(S, cursor=cursor, limit=7)
                for record in page.records:
                    delivered[record["id"]] = _cursor(meta(record)["cursor"])
                if page.records:
                    cursor = meta(page.records[-1])["cursor"]
                elif finished:
                    return
                await asyncio.sleep(0)

        async def writers() -> None:
            await asyncio.gather(*(writer(store, n) for n, store in enumerate(stores)))
            done.set()

        await asyncio.gather(writers(), reader(stores[0]))
        records = await read_all(stores[0], limit=1000)
        cursors = [_cursor(meta(r)["cursor"]) for r in records]
        assert len(records) == 300 and cursors == sorted(set(cursors))
        assert delivered == {r["id"]: _cursor(meta(r)["cursor"]) for r in records}
        assert await stores[0].records.count(S) == {"live": 300, "deleted": 0}
    finally:
        for store in stores:
            await store.close()


# --- encryption --------------------------------------------------------------------------


async def test_payloads_are_encrypted_at_rest(store: Store) -> None:
    secret = "very-secret-plaintext-value"
    await store.records.save(S, [{"id": "rec-1", "note": secret}], run_id="r1")
    async with store.engine.connect() as conn:
        payload, digest = (await conn.execute(sa.text("SELECT payload, hash FROM records"))).one()
    assert secret.encode() not in bytes(payload) and b"note" not in bytes(payload)
    assert len(digest) == 16


async def test_payload_moved_to_another_record_does_not_open(store: Store) -> None:
    await store.records.save(S, [{"id": "a", "v": "A"}, {"id": "b", "v": "B"}], run_id="r1")
    async with store.engine.begin() as conn:
        a = (await conn.execute(sa.text("SELECT payload FROM records WHERE id = 'a'"))).scalar()
        await conn.execute(sa.text("UPDATE records SET payload = :p WHERE id = 'b'"), {"p": a})
    with pytest.raises(SpliceError) as info:
        await read_all(store)
    assert info.value.code == "DECRYPT_FAILED" and "'b'" in info.value.message


async def test_reading_after_key_rotation(database_url: str) -> None:
    old_key, new_key = SecretBox.generate_key(), SecretBox.generate_key()
    async with await open_store(database_url, SecretBox([old_key])) as store:
        await store.records.save(S, [{"id": "old", "v": 1}], run_id="r1")
    async with await open_store(database_url, SecretBox([new_key, old_key])) as store:
        await store.rotate_secrets()  # does not touch records
        await store.records.save(S, [{"id": "new", "v": 2}], run_id="r2")
        assert [r["v"] for r in await read_all(store)] == [1, 2]
    async with await open_store(database_url, SecretBox([new_key])) as store:
        assert (await store.records.read(S, ids=["new"])).records[0]["v"] == 2
        with pytest.raises(SpliceError) as info:
            await store.records.read(S, ids=["old"])
        assert info.value.code == "DECRYPT_FAILED" and old_key not in str(info.value.to_dict())


def test_derived_keys_follow_the_box() -> None:
    old_key, new_key = SecretBox.generate_key(), SecretBox.generate_key()
    old, rotated = SecretBox([old_key]), SecretBox([new_key, old_key])
    key_id, key = old.derive_key("records")
    assert len(key) == 32 and len(key_id) == 4
    assert old.derive_key("other")[1] != key
    assert rotated.derive_key("records") == SecretBox([new_key]).derive_key("records")
    assert list(rotated.derived_keys("records").values())[1] == key
    blob = RecordCipher(old).encrypt_many(1, [("x", b'{"id":"x"}', b"")])[0]
    assert RecordCipher(rotated).decrypt(1, "x", blob) == b'{"id":"x"}'
    with pytest.raises(SpliceError, match="not configured"):
        RecordCipher(SecretBox([new_key])).decrypt(1, "x", blob)
