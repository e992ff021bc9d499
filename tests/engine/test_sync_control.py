"""Scheduling and controlling syncs without a worker: what gets queued, when, and what is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import ProjectFactory
from tests.engine._project import syncs

from splice._engine.scheduler import Scheduler
from splice.demo.server import DemoAPI
from splice.errors import Conflict, InvalidInput, NotFound
from splice.runtime import Runtime
from splice.store import Stream

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def scheduler_of(rt: Runtime) -> Scheduler:
    return Scheduler(rt.store, rt.syncs, rt.flows)


@pytest.fixture
async def rt(make_project: ProjectFactory, demo_api: DemoAPI) -> AsyncIterator[Runtime]:
    runtime = await Runtime.open(make_project({"acme.py": syncs()}), isolation="none")
    await runtime.connections.add("acme", "c1", {"api_key": "demo-key"}, config={"api_url": demo_api.url})
    yield runtime
    await runtime.close()


def row(rows: list[dict], sync: str, connection: str = "c1") -> dict:
    return next(r for r in rows if r["sync"] == sync and r["connection"] == connection)


async def test_a_new_connection_is_synced_at_once_then_on_schedule(rt: Runtime) -> None:
    scheduler = scheduler_of(rt)
    assert sorted(await scheduler.tick(T0)) == [("acme.flaky", "c1"), ("acme.items", "c1"), ("acme.slow", "c1")]
    assert await scheduler.tick(T0 + timedelta(minutes=1)) == []
    rows = await rt.syncs.list()
    assert row(rows, "acme.items")["next_run"] == (T0 + timedelta(hours=1)).isoformat()
    assert row(rows, "acme.flaky")["next_run"] == (T0 + timedelta(minutes=15)).isoformat()
    assert row(rows, "acme.slow")["next_run"] == datetime(2026, 11, 22, 13, 0, tzinfo=UTC).isoformat()
    # due again, but the first jobs are still queued (no worker): the slot is skipped, not doubled
    assert await scheduler.tick(T0 + timedelta(minutes=16)) == []
    assert row(await rt.syncs.list(), "acme.flaky")["next_run"] == (T0 + timedelta(minutes=31)).isoformat()


async def test_a_second_trigger_while_one_is_queued_is_refused(rt: Runtime) -> None:
    job = await rt.syncs.trigger("acme.items", "c1")
    with pytest.raises(Conflict) as raised:
        await rt.syncs.trigger("acme.items", "c1")
    assert raised.value.code == "SYNC_RUNNING"
    assert await rt.jobs.status(job) == "ENQUEUED"
    await rt.connections.add("acme", "c2", {"api_key": "demo-key"}, config={"api_url": "http://127.0.0.1:1"})
    assert await rt.syncs.trigger("acme.items", "c2") != job  # another connection is another sync


async def test_paused_syncs_are_not_scheduled_until_resumed(rt: Runtime) -> None:
    assert await rt.syncs.pause("acme.items") == ["c1"]
    scheduler = scheduler_of(rt)
    started = await scheduler.tick(T0)
    assert ("acme.items", "c1") not in started
    listed = row(await rt.syncs.list(), "acme.items")
    assert listed["paused"] is True and listed["next_run"] is None
    await rt.syncs.resume("acme.items", "c1")
    assert ("acme.items", "c1") in await scheduler.tick(T0 + timedelta(seconds=1))


async def test_a_per_connection_schedule_overrides_the_declared_one(rt: Runtime) -> None:
    scheduler = scheduler_of(rt)
    await scheduler.tick(T0)
    listed = await rt.syncs.schedule("acme.flaky", "c1", every="2h")
    assert listed["schedule"] == "every 2h" and listed["overridden"] is True
    assert listed["next_run"] == (T0 + timedelta(hours=2)).isoformat()
    listed = await rt.syncs.schedule("acme.flaky", "c1", cron="30 * * * *")
    assert listed["schedule"] == "cron 30 * * * *"
    assert listed["next_run"] == (T0 + timedelta(minutes=30)).isoformat()
    listed = await rt.syncs.schedule("acme.flaky", "c1")
    assert listed["schedule"] == "every 15m" and listed["overridden"] is False


@pytest.mark.parametrize(
    ("every", "cron", "fragment"),
    [("10s", None, "30s"), ("32d", None, "31d"), ("soon", None, "every"), (None, "61 * * * *", "cron"),
     ("1h", "0 * * * *", "exactly one")],
)  # fmt: skip
async def test_an_invalid_override_is_refused_and_changes_nothing(
    rt: Runtime, every: str | None, cron: str | None, fragment: str
) -> None:
    await rt.syncs.schedule("acme.flaky", "c1", every="2h")
    with pytest.raises(InvalidInput) as raised:
        await rt.syncs.schedule("acme.flaky", "c1", every=every, cron=cron)
    assert fragment in raised.value.message
    assert row(await rt.syncs.list(), "acme.flaky")["schedule"] == "every 2h"


async def test_broken_connections_are_not_scheduled(rt: Runtime) -> None:
    await rt.store.connections.set_status("acme", "c1", "error", {"code": "REFRESH_FAILED", "message": "x"})
    assert await scheduler_of(rt).tick(T0) == []
    assert row(await rt.syncs.list(), "acme.items")["next_run"] is None


async def test_only_one_scheduler_leads(rt: Runtime) -> None:
    first, second = scheduler_of(rt), scheduler_of(rt)
    assert await first.tick(T0)
    await rt.connections.add("acme", "c2", {"api_key": "demo-key"}, config={"api_url": "http://127.0.0.1:1"})
    assert await second.tick(T0) == []
    assert len(await first.tick(T0)) == 3  # c2's syncs, by the leader


async def test_reset_clears_records_and_checkpoint_but_not_while_running(rt: Runtime) -> None:
    run = await rt.run("acme.items", connection="c1")
    assert run.status == "succeeded"
    await rt.store.checkpoints.save("acme", "c1", "items", {"next": "/somewhere"})
    stream = Stream("acme", "c1", "Item")
    assert (await rt.store.records.count(stream))["live"] == 120
    async with rt.store.locks.lease("sync:acme.items:c1", "a-running-run"):
        with pytest.raises(Conflict, match="cannot be reset now"):
            await rt.syncs.reset("acme.items", "c1")
        with pytest.raises(Conflict, match="already running"):
            await rt.run("acme.items", connection="c1")
    assert (await rt.store.records.count(stream))["live"] == 120
    result = await rt.syncs.reset("acme.items", "c1")
    assert result == {"sync": "acme.items", "connection": "c1", "records_deleted": 120, "checkpoint_cleared": True}
    assert (await rt.store.records.count(stream))["live"] == 0
    assert await rt.store.checkpoints.get("acme", "c1", "items") == {}


@pytest.mark.parametrize("op", ["trigger", "reset", "pause", "schedule"])
async def test_unknown_syncs_and_connections_are_named(rt: Runtime, op: str) -> None:
    calls = {
        "trigger": rt.syncs.trigger, "reset": rt.syncs.reset, "pause": rt.syncs.pause,
        "schedule": lambda s, c: rt.syncs.schedule(s, c, every="1h"),
    }  # fmt: skip
    call = calls[op]
    with pytest.raises(NotFound, match="nope"):
        await call("acme.nope", "c1")
    with pytest.raises(NotFound, match="not a sync"):
        await call("acme.ping", "c1")
    with pytest.raises(NotFound, match="c9"):
        await call("acme.items", "c9")
