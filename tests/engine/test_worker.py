"""Real worker processes: scheduled syncs, retries, time limits, background actions, kill -9."""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.cli._cli import asplice, assert_error, clean_env
from tests.engine.conftest import START_TIMEOUT, StartWorker

from splice.demo.server import DemoAPI
from splice.runtime import Runtime
from splice.store import RunRecord, Stream

ITEMS = Stream("acme", "c1", "Item")


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = START_TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := await check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
    return result


async def connect(rt: Runtime, api: DemoAPI) -> None:
    await rt.connections.add("acme", "c1", {"api_key": "demo-key"}, config={"api_url": api.url})


async def history(rt: Runtime, script: str) -> list[RunRecord]:
    """The runs of ``script`` for c1, oldest first."""
    return list(reversed(await rt.runs.find(integration="acme", script=script, connection_id="c1")))


async def all_ids(rt: Runtime) -> list[str]:
    page = await rt.records.read("acme", "Item", connection="c1", limit=10_000)
    assert page.next_cursor is None or not (await rt.records.read(
        "acme", "Item", connection="c1", cursor=page.next_cursor, limit=10_000)).records  # fmt: skip
    return sorted(r["id"] for r in page.records)


def expected_ids(count: int) -> list[str]:
    return [f"r{n:07d}" for n in range(1, count + 1)]


async def test_serve_syncs_new_connections_retries_failures_and_stops_slow_runs(
    project: Path, api: DemoAPI, start_worker: StartWorker
) -> None:
    async with await Runtime.open(project) as rt:
        serve = await asyncio.to_thread(start_worker, project, "serve")
        await connect(rt, api)

        async def finished(script: str) -> bool:
            runs = await history(rt, script)
            return bool(runs) and runs[-1].status in ("succeeded", "timed_out") and runs[-1].finished_at is not None

        for script in ("items", "flaky", "slow"):
            await until(lambda s=script: finished(s), f"{script} to finish\n{serve.output()}")
        assert await all_ids(rt) == expected_ids(3000)
        items = await history(rt, "items")
        assert [r.status for r in items] == ["succeeded"]
        assert items[0].output["records"]["Item"]["added"] == 3000
        assert items[0].progress["records"] == 3000 and items[0].progress["pages"] == 30
        flaky = await history(rt, "flaky")
        assert [(r.attempt, r.status) for r in flaky] == [(1, "failed"), (2, "failed"), (3, "succeeded")]
        assert len({r.job_id for r in flaky}) == 1 and flaky[0].job_id
        gaps = [(b.started_at - a.finished_at).total_seconds() for a, b in itertools.pairwise(flaky)]
        assert gaps[0] >= 0.15 and gaps[1] >= 0.35, f"no backoff between attempts: {gaps}"
        slow = await history(rt, "slow")
        assert [(r.status, r.error["code"]) for r in slow] == [("timed_out", "TIME_LIMIT_EXCEEDED")]  # not retried

        listed = {r["sync"]: r for r in await rt.syncs.list()}
        assert listed["acme.items"]["last_run"]["status"] == "succeeded"
        assert listed["acme.items"]["next_run"] > items[0].started_at.isoformat()

        _, secret = await rt.store.tokens.create("test")
        async with (
            aiohttp.ClientSession(serve.api_url, headers={"Authorization": f"Bearer {secret}"}) as http,
            http.get("/syncs/acme/items/c1") as response,
        ):
            assert response.status == 200 and (await response.json())["last_run"]["status"] == "succeeded"

        job = await rt.enqueue("acme.ping", connection="c1", input={"n": 1})
        summary = await rt.wait_job(job)
        assert summary["status"] == "succeeded"
        assert (await rt.runs.get(summary["run_id"])).output == {"pong": {"n": 1}}


@pytest.mark.parametrize("project", [100], indirect=True)
async def test_cli_trigger_waits_with_progress_and_refuses_a_second_trigger(
    project: Path, api: DemoAPI, start_worker: StartWorker
) -> None:
    async with await Runtime.open(project) as rt:
        await connect(rt, api)
        await rt.syncs.pause("acme.items")
    await asyncio.to_thread(start_worker, project, "worker")
    waiting = asyncio.create_task(asplice("syncs", "trigger", "acme.items", "-c", "c1", "--wait", cwd=project))
    await asyncio.sleep(1.0)
    second = await asplice("syncs", "trigger", "acme.items", "--connection", "c1", cwd=project)
    assert_error(second, "acme.items:c1 is already queued or running")
    done = await waiting
    assert done.code == 0, done
    assert done.json()["status"] == "succeeded"
    assert done.json()["output"]["records"]["Item"]["added"] == 3000
    progress = [line for line in done.stderr.splitlines() if line.startswith("progress")]
    assert progress and "records/s" in progress[-1], done
    listed = await asplice("syncs", "list", "--json", cwd=project)
    (row,) = [r for r in listed.json() if r["sync"] == "acme.items"]
    assert row["paused"] is True and row["records"]["Item"] == {"live": 3000, "deleted": 0}


@pytest.mark.parametrize("project", [40], indirect=True)
async def test_a_worker_killed_mid_sync_resumes_from_its_checkpoint(
    project: Path, api: DemoAPI, start_worker: StartWorker, database_url: str
) -> None:
    async with await Runtime.open(project, database_url=database_url) as rt:
        await connect(rt, api)
        worker = await asyncio.to_thread(start_worker, project, "worker", "w1", database_url)
        job = await rt.syncs.trigger("acme.items", "c1")

        async def some_stored() -> bool:
            return (await rt.store.records.count(ITEMS))["live"] >= 800

        await until(some_stored, f"records to arrive\n{worker.output()}")
        assert await asyncio.to_thread(worker.kill) == -signal.SIGKILL
        before = (await rt.store.records.count(ITEMS))["live"]
        assert 800 <= before < 3000
        assert [r.status for r in await history(rt, "items")] == ["running"]  # as the dead worker left it

        await asyncio.to_thread(start_worker, project, "worker", "w1", database_url)
        summary = await asyncio.wait_for(rt.wait_job(job), START_TIMEOUT)
        assert summary["status"] == "succeeded"
        assert await all_ids(rt) == expected_ids(3000)
        assert (await rt.store.records.count(ITEMS)) == {"live": 3000, "deleted": 0}
        first, second = await history(rt, "items")
        assert (first.attempt, first.status, first.error["code"]) == (1, "failed", "WORKER_LOST")
        assert (second.attempt, second.status) == (2, "succeeded")
        counts = second.output["records"]["Item"]
        assert counts["added"] == 3000 - before, "the second attempt did not resume from the checkpoint"
        assert counts["unchanged"] <= 100  # at most the page after the last checkpoint, saved again


@pytest.mark.parametrize("project", [40], indirect=True)
async def test_a_stopped_worker_cancels_its_run_and_resumes_it_on_restart(
    project: Path, api: DemoAPI, start_worker: StartWorker
) -> None:
    async with await Runtime.open(project) as rt:
        await connect(rt, api)
        worker = await asyncio.to_thread(start_worker, project, "worker")
        job = await rt.syncs.trigger("acme.items", "c1")

        async def some_stored() -> bool:
            return (await rt.store.records.count(ITEMS))["live"] >= 500

        await until(some_stored, "records to arrive")
        assert await asyncio.to_thread(worker.kill, signal.SIGTERM) == 0
        assert "Traceback" not in worker.output() and "error" not in worker.output().lower(), worker.output()
        assert [r.status for r in await history(rt, "items")] == ["cancelled"]
        await asyncio.to_thread(start_worker, project, "worker")
        summary = await asyncio.wait_for(rt.wait_job(job), START_TIMEOUT)
        assert summary["status"] == "succeeded" and summary["attempt"] == 2
        assert await all_ids(rt) == expected_ids(3000)


async def test_serve_with_a_bad_project_says_what_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "splice.toml").write_text("[runtime]\nconcurrency = 0\n")
    result = await asplice("serve", cwd=tmp_path, env=clean_env())
    assert_error(result, "runtime.concurrency", hint=None)


@pytest.mark.parametrize("project", [100], indirect=True)
async def test_splice_run_of_a_sync_prints_its_progress(project: Path, api: DemoAPI) -> None:
    async with await Runtime.open(project) as rt:
        await connect(rt, api)
    ran = await asplice("run", "acme.items", "-c", "c1", cwd=project)
    assert ran.code == 0, ran
    assert ran.json()["records"]["Item"]["added"] == 3000
    progress = [line for line in ran.stderr.splitlines() if line.startswith("progress")]
    assert progress[-1].startswith("progress 30 pages · 3,000 records · "), ran
