from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from splice.errors import InvalidInput
from splice.store import SecretBox, Store, SyncSchedule, open_store

T0 = datetime(2026, 11, 1, 12, 0, 0, 250000, tzinfo=UTC)


async def test_nothing_stored_means_none_and_empty(store: Store) -> None:
    assert await store.schedules.get("acme", "contacts", "c1") is None
    assert await store.schedules.find() == []
    assert await store.schedules.delete("acme") == 0


async def test_pause_creates_a_row_with_defaults_and_resume_keeps_it(store: Store) -> None:
    paused = await store.schedules.set_paused("acme", "contacts", "c1", True)
    assert isinstance(paused, SyncSchedule)
    assert (paused.integration, paused.sync, paused.connection_id, paused.paused) == ("acme", "contacts", "c1", True)
    assert (paused.every_seconds, paused.cron, paused.last_scheduled_at, paused.next_run_at) == (None,) * 4
    assert paused.updated_at is not None and paused.updated_at.tzinfo is UTC
    assert await store.schedules.get("acme", "contacts", "c1") == paused

    resumed = await store.schedules.set_paused("acme", "contacts", "c1", False)
    assert resumed.paused is False
    assert resumed.updated_at is not None and resumed.updated_at >= paused.updated_at
    assert await store.schedules.get("acme", "contacts", "c1") == resumed


async def test_pausing_keeps_the_override_and_the_scheduler_bookkeeping(store: Store) -> None:
    await store.schedules.set_override("acme", "contacts", "c1", every_seconds=600, cron=None)
    await store.schedules.mark_scheduled("acme", "contacts", "c1", at=T0, next_run_at=T0 + timedelta(minutes=10))
    paused = await store.schedules.set_paused("acme", "contacts", "c1", True)
    assert paused.paused is True
    assert paused.every_seconds == 600 and paused.cron is None
    assert paused.last_scheduled_at == T0 and paused.next_run_at == T0 + timedelta(minutes=10)


async def test_override_replace_and_clear(store: Store) -> None:
    every = await store.schedules.set_override("acme", "contacts", "c1", every_seconds=3600, cron=None)
    assert (every.every_seconds, every.cron, every.paused) == (3600, None, False)

    cron = await store.schedules.set_override("acme", "contacts", "c1", every_seconds=None, cron="*/5 * * * *")
    assert (cron.every_seconds, cron.cron) == (None, "*/5 * * * *")

    cleared = await store.schedules.set_override("acme", "contacts", "c1", every_seconds=None, cron=None)
    assert (cleared.every_seconds, cleared.cron) == (None, None)
    assert await store.schedules.get("acme", "contacts", "c1") == cleared


async def test_override_clears_next_run_but_keeps_pause_and_last_scheduled(store: Store) -> None:
    await store.schedules.set_paused("acme", "contacts", "c1", True)
    await store.schedules.mark_scheduled("acme", "contacts", "c1", at=T0, next_run_at=T0 + timedelta(hours=1))
    changed = await store.schedules.set_override("acme", "contacts", "c1", every_seconds=60, cron=None)
    assert changed.next_run_at is None
    assert changed.paused is True and changed.last_scheduled_at == T0


@pytest.mark.parametrize(
    ("every_seconds", "cron"),
    [
        (60, "* * * * *"),
        (29, None),
        (31 * 86400 + 1, None),
        (0, None),
        (True, None),
        (60.0, None),
        ("60", None),
        (None, "not a cron"),
        (None, "* * *"),
        (None, ""),
        (None, 5),
    ],
)
async def test_bad_override_is_refused_and_nothing_changes(store: Store, every_seconds: Any, cron: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        await store.schedules.set_override("acme", "contacts", "c1", every_seconds=every_seconds, cron=cron)
    assert info.value.code == "INVALID_SCHEDULE"
    assert await store.schedules.get("acme", "contacts", "c1") is None

    kept = await store.schedules.set_override("acme", "contacts", "c1", every_seconds=900, cron=None)
    with pytest.raises(InvalidInput):
        await store.schedules.set_override("acme", "contacts", "c1", every_seconds=every_seconds, cron=cron)
    assert await store.schedules.get("acme", "contacts", "c1") == kept


async def test_override_bounds_are_inclusive(store: Store) -> None:
    low = await store.schedules.set_override("acme", "contacts", "c1", every_seconds=30, cron=None)
    high = await store.schedules.set_override("acme", "contacts", "c2", every_seconds=31 * 86400, cron=None)
    assert (low.every_seconds, high.every_seconds) == (30, 31 * 86400)


async def test_mark_scheduled_inserts_then_updates(store: Store) -> None:
    await store.schedules.mark_scheduled("acme", "contacts", "c1", at=T0, next_run_at=T0 + timedelta(minutes=15))
    first = await store.schedules.get("acme", "contacts", "c1")
    assert first is not None
    assert first.paused is False and first.every_seconds is None and first.cron is None
    assert first.last_scheduled_at == T0 and first.last_scheduled_at.tzinfo is UTC
    assert first.next_run_at == T0 + timedelta(minutes=15)

    later = T0 + timedelta(minutes=15)
    await store.schedules.mark_scheduled("acme", "contacts", "c1", at=later, next_run_at=None)
    second = await store.schedules.get("acme", "contacts", "c1")
    assert second is not None and second.last_scheduled_at == later and second.next_run_at is None


async def test_naive_times_are_taken_as_utc(store: Store) -> None:
    naive = datetime(2026, 11, 1, 12, 0, 0)
    await store.schedules.mark_scheduled("acme", "contacts", "c1", at=naive, next_run_at=naive + timedelta(hours=1))
    got = await store.schedules.get("acme", "contacts", "c1")
    assert got is not None
    assert got.last_scheduled_at == naive.replace(tzinfo=UTC)
    assert got.next_run_at == datetime(2026, 11, 1, 13, 0, 0, tzinfo=UTC)


async def test_set_next_run_upserts_and_keeps_the_rest(store: Store) -> None:
    await store.schedules.set_next_run("acme", "contacts", "c1", T0)
    first = await store.schedules.get("acme", "contacts", "c1")
    assert first is not None and first.next_run_at == T0 and first.last_scheduled_at is None

    await store.schedules.set_override("acme", "contacts", "c1", every_seconds=None, cron="0 * * * *")
    await store.schedules.set_paused("acme", "contacts", "c1", True)
    await store.schedules.mark_scheduled("acme", "contacts", "c1", at=T0, next_run_at=None)
    await store.schedules.set_next_run("acme", "contacts", "c1", T0 + timedelta(hours=1))
    got = await store.schedules.get("acme", "contacts", "c1")
    assert got is not None
    assert (got.paused, got.cron, got.last_scheduled_at, got.next_run_at) == (
        True,
        "0 * * * *",
        T0,
        T0 + timedelta(hours=1),
    )
    await store.schedules.set_next_run("acme", "contacts", "c1", None)
    cleared = await store.schedules.get("acme", "contacts", "c1")
    assert cleared is not None and cleared.next_run_at is None and cleared.last_scheduled_at == T0


async def test_rows_are_per_integration_sync_and_connection(store: Store) -> None:
    await store.schedules.set_paused("acme", "contacts", "c1", True)
    assert await store.schedules.get("acme", "contacts", "c2") is None
    assert await store.schedules.get("acme", "deals", "c1") is None
    assert await store.schedules.get("other", "contacts", "c1") is None


async def _seed(store: Store) -> None:
    for integration, sync, connection_id in [
        ("zeta", "contacts", "c1"),
        ("acme", "deals", "c1"),
        ("acme", "contacts", "c2"),
        ("acme", "contacts", "c1"),
        ("acme", "deals", "c2"),
    ]:
        await store.schedules.set_next_run(integration, sync, connection_id, T0)


def _keys(rows: list[SyncSchedule]) -> list[tuple[str, str, str]]:
    return [(row.integration, row.sync, row.connection_id) for row in rows]


async def test_find_filters_and_orders(store: Store) -> None:
    await _seed(store)
    assert _keys(await store.schedules.find()) == [
        ("acme", "contacts", "c1"),
        ("acme", "contacts", "c2"),
        ("acme", "deals", "c1"),
        ("acme", "deals", "c2"),
        ("zeta", "contacts", "c1"),
    ]
    assert _keys(await store.schedules.find("zeta")) == [("zeta", "contacts", "c1")]
    assert _keys(await store.schedules.find("acme", sync="deals")) == [("acme", "deals", "c1"), ("acme", "deals", "c2")]
    assert _keys(await store.schedules.find(connection_id="c1")) == [
        ("acme", "contacts", "c1"),
        ("acme", "deals", "c1"),
        ("zeta", "contacts", "c1"),
    ]
    assert _keys(await store.schedules.find(sync="contacts", connection_id="c2")) == [("acme", "contacts", "c2")]
    assert await store.schedules.find("nobody") == []


async def test_delete_by_sync_connection_and_integration(store: Store) -> None:
    await _seed(store)
    assert await store.schedules.delete("acme", "c1", sync="deals") == 1
    assert await store.schedules.get("acme", "deals", "c1") is None
    assert await store.schedules.delete("acme", sync="contacts") == 2
    assert await store.schedules.delete("acme", "c2") == 1
    assert await store.schedules.delete("acme") == 0
    assert _keys(await store.schedules.find()) == [("zeta", "contacts", "c1")]
    assert await store.schedules.delete("zeta") == 1
    assert await store.schedules.find() == []


@pytest.mark.parametrize(
    ("integration", "sync", "connection_id"),
    [("", "s", "c1"), ("acme", "s", "c/1"), ("acme", "", "c1"), ("acme", "x" * 256, "c1"), ("acme", "s", 1)],
)
async def test_bad_names_are_refused(store: Store, integration: Any, sync: Any, connection_id: Any) -> None:
    with pytest.raises(InvalidInput):
        await store.schedules.set_paused(integration, sync, connection_id, True)
    with pytest.raises(InvalidInput):
        await store.schedules.set_override(integration, sync, connection_id, every_seconds=60, cron=None)
    with pytest.raises(InvalidInput):
        await store.schedules.mark_scheduled(integration, sync, connection_id, at=T0, next_run_at=None)
    with pytest.raises(InvalidInput):
        await store.schedules.set_next_run(integration, sync, connection_id, T0)
    with pytest.raises(InvalidInput):
        await store.schedules.get(integration, sync, connection_id)
    assert await store.schedules.find() == []


async def test_paused_must_be_a_bool(store: Store) -> None:
    with pytest.raises(InvalidInput):
        await store.schedules.set_paused("acme", "contacts", "c1", 1)  # type: ignore[arg-type]
    assert await store.schedules.get("acme", "contacts", "c1") is None


async def test_a_second_store_on_the_same_database_sees_the_rows(store: Store, database_url: str) -> None:
    await store.schedules.set_paused("acme", "contacts", "c1", True)
    async with await open_store(database_url, SecretBox.generate()) as other:
        got = await other.schedules.get("acme", "contacts", "c1")
        assert got is not None and got.paused is True
        await other.schedules.set_override("acme", "contacts", "c1", every_seconds=120, cron=None)
    again = await store.schedules.get("acme", "contacts", "c1")
    assert again is not None and again.every_seconds == 120 and again.paused is True
