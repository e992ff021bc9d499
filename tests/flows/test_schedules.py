"""Scheduled flows: started per connection by the scheduler, with the syncs' pause and resume."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import ProjectFactory

from splice._engine.scheduler import Scheduler
from splice.errors import InvalidInput
from splice.runtime import Runtime

PROJECT = """
from splice import Integration, auth, step

acme = Integration("acme", base_url="http://127.0.0.1:9", auth=auth.ApiKey())


@acme.step()
async def tick(ctx, step_results):
    return 1


acme.flow("nightly", every="1h", steps=[step.code("Tick", tick)])
acme.flow("manual", steps=[step.code("Tick", tick)])
"""
T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
async def rt(make_project: ProjectFactory) -> AsyncIterator[Runtime]:
    runtime = await Runtime.open(make_project({"acme.py": PROJECT}), isolation="none")
    for conn in ("c1", "c2"):
        await runtime.connections.add("acme", conn, {"api_key": "k"})
    yield runtime
    await runtime.close()


async def test_a_scheduled_flow_starts_per_connection_and_can_be_paused(rt: Runtime) -> None:
    scheduler = Scheduler(rt.store, rt.syncs, rt.flows)
    assert sorted(await scheduler.tick(T0)) == [("acme.nightly", "c1"), ("acme.nightly", "c2")]
    queued = await rt.runs.find(script="nightly")
    assert sorted((r.connection_id, r.status) for r in queued) == [("c1", "queued"), ("c2", "queued")]
    assert all(r.job_id for r in queued)

    assert await scheduler.tick(T0 + timedelta(minutes=30)) == []
    assert await scheduler.tick(T0 + timedelta(hours=1, seconds=1)) == [], "a queued run blocks the next slot"

    for run in queued:  # as a worker would have
        await rt.flows.execute(run.id)
    assert await rt.flows.pause("acme.nightly", "c2") == ["c2"]
    assert await scheduler.tick(T0 + timedelta(hours=2, seconds=2)) == [("acme.nightly", "c1")]
    await rt.flows.resume("acme.nightly", "c2")
    assert await scheduler.tick(T0 + timedelta(hours=2, seconds=3)) == [("acme.nightly", "c2")]

    with pytest.raises(InvalidInput, match="has no schedule"):
        await rt.flows.pause("acme.manual")
