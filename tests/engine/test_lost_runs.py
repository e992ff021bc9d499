"""What a kill -9 leaves behind: no sync deletes what it saved, no run stays ``running`` forever,
a waiting action's job runs again."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import aiohttp
import pytest
from tests.cli._cli import SPLICE, clean_env
from tests.conftest import ProjectFactory
from tests.engine._project import syncs
from tests.engine.conftest import START_TIMEOUT, StartWorker
from tests.engine.test_worker import ITEMS, all_ids, connect, expected_ids, history, until

from splice.demo.server import DemoAPI
from splice.runtime import Runtime
from splice.store import RunRecord

SYNCS = ("acme.items", "acme.flaky", "acme.slow", "acme.tracked")
MORE = """

@acme.sync(models=[Item], every="1h", retries=2, retry_delay=0.2, track_deletes=True)
async def tracked(ctx):
    # pages of 50, a checkpoint every third page
    checkpoint = await ctx.checkpoint.get()
    url = checkpoint.get("next") or "/paged/big?limit=50&delay_ms=30"
    pages = 0
    while url:
        page = await ctx.api.get(url)
        await ctx.records.save(page["results"])
        url = page["next"]
        pages += 1
        if pages % 3 == 0 or not url:
            await ctx.checkpoint.save({"next": url})
    await ctx.checkpoint.clear()


@acme.action
async def slow_action(ctx, input):
    import asyncio
    await asyncio.sleep(60)


@acme.trigger()
async def slow_hook(ctx, request):
    import asyncio
    await asyncio.sleep(60)
"""


@pytest.fixture
def project(make_project: ProjectFactory) -> Path:
    return make_project({"acme.py": syncs() + MORE})


@pytest.mark.parametrize("kill_at", [300, 1200, 2550])
async def test_a_resumed_sync_with_track_deletes_deletes_nothing_it_saved_before_the_crash(
    project: Path, api: DemoAPI, start_worker: StartWorker, database_url: str, kill_at: int
) -> None:
    async with await Runtime.open(project, database_url=database_url) as rt:
        await connect(rt, api)
        for sync in SYNCS:
            await rt.syncs.pause(sync)
        worker = await asyncio.to_thread(start_worker, project, "serve", "srv1", database_url)
        job = await rt.syncs.trigger("acme.tracked", "c1")

        async def stored() -> bool:
            return (await rt.store.records.count(ITEMS))["live"] >= kill_at

        await until(stored, f"{kill_at} records to be stored\n{worker.output()}")
        assert await asyncio.to_thread(worker.kill) == -signal.SIGKILL
        before = (await rt.store.records.count(ITEMS))["live"]
        assert before < 3000, "the sync finished before the kill; slow its pages down"

        await asyncio.to_thread(start_worker, project, "serve", "srv1", database_url)
        summary = await asyncio.wait_for(rt.wait_job(job), START_TIMEOUT)
        assert summary["status"] == "succeeded", summary
        assert await rt.store.records.count(ITEMS) == {"live": 3000, "deleted": 0}
        assert await all_ids(rt) == expected_ids(3000)
        first, second = await history(rt, "tracked")
        assert (first.status, first.error["code"]) == ("failed", "WORKER_LOST")
        counts = second.output["records"]["Item"]
        assert counts["deleted"] == 0 and counts["added"] == 3000 - before, counts

        # the job that follows sees the API lose a record and deletes that one only
        api.api.big_count = 2999
        summary = await asyncio.wait_for(rt.wait_job(await rt.syncs.trigger("acme.tracked", "c1")), START_TIMEOUT)
        assert summary["status"] == "succeeded", summary
        assert await rt.store.records.count(ITEMS) == {"live": 2999, "deleted": 1}


async def test_runs_in_flight_at_a_kill_end_failed_when_their_process_starts_again(
    project: Path, api: DemoAPI, start_worker: StartWorker, tmp_path: Path
) -> None:
    async with await Runtime.open(project) as rt:
        await connect(rt, api)
        for sync in SYNCS:
            await rt.syncs.pause(sync)
        _, token = await rt.store.tokens.create("test")
        serve = await asyncio.to_thread(start_worker, project, "serve", "srv1")
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(serve.api_url, headers=headers) as http:
            calls = [
                asyncio.create_task(http.post("/webhooks/acme/slow_hook", json={"event": 1})),
                asyncio.create_task(http.post("/actions/acme/slow_action", json={"connection_id": "c1", "input": {}})),
            ]

            async def both_running() -> bool:
                runs = await rt.runs.find(status="running")
                return {r.script for r in runs} >= {"slow_hook", "slow_action"}

            await until(both_running, f"both runs to start\n{serve.output()}")
            assert await asyncio.to_thread(serve.kill) == -signal.SIGKILL
            for call in calls:
                with pytest.raises(aiohttp.ClientError):
                    await call

        # a `splice run` killed the same way, on this host
        cli = subprocess.Popen(
            [str(SPLICE), "run", "acme.slow_action", "-c", "c1", "--input", "{}"],
            cwd=project,
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        async def cli_running() -> bool:
            return len(await rt.runs.find(script="slow_action", status="running")) == 2

        await until(cli_running, "the CLI run to start")
        cli.send_signal(signal.SIGKILL)
        await asyncio.to_thread(cli.wait)
        assert {r.script for r in await rt.runs.find(status="running")} == {"slow_hook", "slow_action"}

        again = await asyncio.to_thread(start_worker, project, "serve", "srv1")

        async def retried() -> RunRecord | None:
            runs = await rt.runs.find(script="slow_action", status="running")
            return runs[0] if runs else None

        # the waiting action was a job: it runs again; the webhook's and the CLI's runs just ended
        retry = await until(retried, f"the action's job to run again\n{again.output()}")
        runs = [r for r in await rt.runs.find(integration="acme") if r.id != retry.id]
        assert len(runs) == 3
        for run in runs:
            assert run.status == "failed" and run.error["code"] == "WORKER_LOST", (run, again.output())
            assert run.finished_at is not None and run.duration_ms is not None
        (action,) = [r for r in runs if r.job_id]
        assert (retry.job_id, retry.attempt) == (action.job_id, 2)
