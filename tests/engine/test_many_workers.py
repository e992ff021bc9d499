"""Three workers on PostgreSQL, one lost in the middle of a sync or a flow: the others finish both.

A worker killed with -9 is recovered at once by a worker of the same host (its pid is gone);
a worker that goes silent (SIGSTOP: a frozen VM, a machine cut off) after ``worker_timeout``;
and when the silent one comes back it finds itself declared lost and stops. The demo API
counts every side effect by idempotency key: each was applied exactly once.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from tests.conftest import ProjectFactory
from tests.engine._project import syncs
from tests.engine.conftest import START_TIMEOUT, StartWorker, Worker
from tests.engine.test_flows import FLOWS, children, counted
from tests.engine.test_worker import ITEMS, all_ids, connect, expected_ids, history, until

from splice.demo.server import DemoAPI
from splice.runtime import Runtime
from splice.store import RunRecord

pytestmark = pytest.mark.postgres
TIMEOUT = 3  # [runtime] worker_timeout of these projects, in seconds
TOML = f'[project]\nname = "many"\n\n[runtime]\nworker_timeout = {TIMEOUT}\n'


@pytest.fixture(params=["postgres"])
def database_url(database_url: str) -> str:
    return database_url


async def three(start_worker: StartWorker, root: Path, database_url: str) -> list[Worker]:
    """Three `splice worker` processes under their default ids (unique per process)."""
    started = await asyncio.gather(*(asyncio.to_thread(start_worker, root, "worker", None, database_url)
                                     for _ in range(3)))  # fmt: skip
    assert len({w.worker_id for w in started}) == 3
    return list(started)


async def running_on(workers: list[Worker], runs: Callable[[], Awaitable[list[RunRecord]]], what: str) -> Worker:
    """The worker among ``workers`` that owns one of ``runs()`` still going."""

    async def found() -> Worker | None:
        owners = {r.owner for r in await runs() if r.status == "running"}
        return next((w for w in workers if w.worker_id in owners), None)

    return await until(found, f"a worker to run {what}")


async def test_a_sync_on_a_killed_worker_finishes_on_another(
    make_project: ProjectFactory, api: DemoAPI, start_worker: StartWorker, database_url: str
) -> None:
    root = make_project({"acme.py": syncs(delay_ms=20)}, toml=TOML)
    async with await Runtime.open(root, database_url=database_url) as rt:
        await connect(rt, api)
        workers = await three(start_worker, root, database_url)
        job = await rt.syncs.trigger("acme.items", "c1")
        victim = await running_on(workers, lambda: history(rt, "items"), "items")

        async def some_stored() -> bool:
            return (await rt.store.records.count(ITEMS))["live"] >= 600

        await until(some_stored, "records to arrive")
        killed_at = time.monotonic()
        assert await asyncio.to_thread(victim.kill) == -signal.SIGKILL
        summary = await asyncio.wait_for(rt.wait_job(job), START_TIMEOUT)
        took = time.monotonic() - killed_at
        assert summary["status"] == "succeeded", summary
        first, second = await history(rt, "items")
        assert (first.owner, first.status, first.error["code"]) == (victim.worker_id, "failed", "WORKER_LOST")
        assert second.owner != victim.worker_id and second.owner in {w.worker_id for w in workers}
        assert (second.attempt, second.status) == (2, "succeeded")
        assert await all_ids(rt) == expected_ids(3000)  # every record, once
        assert second.output["records"]["Item"]["unchanged"] <= 100  # resumed from the checkpoint
        assert took < START_TIMEOUT
        lost = {w.id: w for w in await rt.store.workers.list()}[victim.worker_id]
        assert lost.status == "lost" and lost.recovered_by in {w.worker_id for w in workers} - {victim.worker_id}


async def test_a_silent_worker_loses_its_flow_to_another_after_the_timeout_then_stops(
    make_project: ProjectFactory, api: DemoAPI, start_worker: StartWorker, database_url: str
) -> None:
    root = make_project({"acme.py": FLOWS}, toml=TOML)
    async with await Runtime.open(root, database_url=database_url) as rt:
        await rt.connections.add("acme", "c1", {"api_key": "demo-key"}, config={"api_url": api.url})
        workers = await three(start_worker, root, database_url)
        run = await rt.flows.run("acme.twenty", connection="c1", background=True)

        victim = await running_on(workers, lambda: rt.runs.find(parent_id=run.id, limit=100), "the flow's steps")
        await until(lambda: _done(rt, run.id, 5), "five steps to finish")
        victim.proc.send_signal(signal.SIGSTOP)  # silent, not dead: its pid still exists
        stopped_at = time.monotonic()
        try:
            done = await asyncio.wait_for(rt.flows.wait(run.id), START_TIMEOUT + 2 * TIMEOUT)
            took = time.monotonic() - stopped_at
        finally:
            victim.proc.send_signal(signal.SIGCONT)
        assert done.status == "succeeded", done.error
        assert took >= TIMEOUT  # not before the timeout: it might only have been slow
        assert took < 2 * TIMEOUT + 10
        keys = {f"{run.id}:Step {n:02d}" for n in range(1, 21)}
        assert counted(api, "applied") == dict.fromkeys(keys, 1), "every step's effect applied exactly once"
        steps = await children(rt, run.id)
        assert {c.step for c in steps if c.status == "succeeded"} == set(keys_of(keys))
        assert {c.error["code"] for c in steps if c.status == "failed"} <= {"WORKER_LOST"}
        assert done.attempt == 2
        # woken up, the silent worker finds it was declared lost and stops by itself
        code = await asyncio.to_thread(victim.proc.wait, 30)
        assert code == 0, victim.output()
        assert "was declared lost by another worker" in victim.output()
        others = {w.worker_id for w in workers if w is not victim}
        lost = {w.id: w for w in await rt.store.workers.list()}[victim.worker_id]
        assert lost.status == "lost" and lost.recovered_by in others


async def _done(rt: Runtime, run_id: str, n: int) -> bool:
    return len([c for c in await children(rt, run_id) if c.status == "succeeded"]) >= n


def keys_of(keys: set[str]) -> list[str]:
    return [k.split(":", 1)[1] for k in keys]


ACTION = """
import asyncio

from splice import Integration, auth

acme = Integration("acme", base_url="{config.api_url}/api", auth=auth.ApiKey())


@acme.action
async def pay(ctx, input):
    answer = await ctx.api.post("/effects", {}, headers={"Idempotency-Key": ctx.run.idempotency_key})
    await asyncio.sleep(input["seconds"])
    return {"applied": answer["applied"]}
"""


async def test_a_waiting_action_outlives_its_killed_api_process(
    make_project: ProjectFactory, api: DemoAPI, start_worker: StartWorker, database_url: str
) -> None:
    root = make_project({"acme.py": ACTION}, toml=TOML)
    async with await Runtime.open(root, database_url=database_url) as rt:
        await rt.connections.add("acme", "c1", {"api_key": "demo-key"}, config={"api_url": api.url})
        _, token = await rt.store.tokens.create("test")
        serve, worker = await asyncio.gather(
            asyncio.to_thread(start_worker, root, "serve", None, database_url),
            asyncio.to_thread(start_worker, root, "worker", None, database_url),
        )
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(serve.api_url, headers=headers) as http:
            body = {"connection_id": "c1", "input": {"seconds": 4}, "timeout": 1}
            async with http.post("/actions/acme/pay", json=body) as answer:
                assert answer.status == 202, await answer.text()
                run_id = (await answer.json())["run_id"]
        assert await asyncio.to_thread(serve.kill) == -signal.SIGKILL

        async def finished() -> list[RunRecord] | None:
            runs = await history(rt, "pay")
            return runs if runs[-1].status == "succeeded" else None

        first, second = await until(finished, f"the action to run again\n{worker.output()}")
        assert (first.id, first.owner, first.status) == (run_id, serve.worker_id, "failed")
        assert first.error["code"] == "WORKER_LOST"
        assert (second.job_id, second.attempt, second.owner) == (first.job_id, 2, worker.worker_id)
        assert second.output == {"applied": 1}
        assert counted(api, "applied") == {first.job_id: 1}, "its effect applied exactly once"
        assert counted(api, "requests") == {first.job_id: 2}
