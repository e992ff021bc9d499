"""Flows on real `splice serve` processes: run over REST, started by webhooks, killed and resumed.

The 20-step flow's steps each apply one side effect on the demo API, with the step's
idempotency key: after a `kill -9` in the middle the run finishes, every effect was applied
exactly once, and no step that had finished before the kill sent its request again.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.conftest import ProjectFactory
from tests.engine.conftest import START_TIMEOUT, StartWorker
from tests.engine.test_worker import until

from splice.demo.server import DemoAPI
from splice.runtime import Runtime
from splice.store import RunRecord

FLOWS = """
import asyncio
from splice import Integration, auth, expr, step
from splice.triggers import Body, HmacSignature, Query

acme = Integration("acme", base_url="{config.api_url}/api", auth=auth.ApiKey())


@acme.step()
async def effect(ctx, step_results):
    answer = await ctx.api.post("/effects?delay_ms=150", {"step": ctx.run.step},
                                headers={"Idempotency-Key": ctx.run.idempotency_key})
    return {"applied": answer["applied"], "key": ctx.run.idempotency_key}


@acme.step()
async def slow_item(ctx, step_results):
    await asyncio.sleep(0.4)
    answer = await ctx.api.post("/effects", {}, headers={"Idempotency-Key": ctx.run.idempotency_key})
    return {"item": step_results.item, "applied": answer["applied"]}


hooks = Integration("hooks", base_url="http://127.0.0.1:9")


@hooks.step()
async def double(ctx, step_results):
    return {"doubled": step_results.trigger["n"] * 2}


@hooks.trigger()
async def events(ctx, request):
    body = request.json()
    return {"payload": body, "response": {"status": 202, "body": "queued"}}


@hooks.trigger()
async def ask(ctx, request):
    return {"payload": request.json()}


me = Integration("me", base_url="{config.url}")


@me.trigger(connection_from=Query("conn", trusted=True))
async def bounce(ctx, request):
    return {"payload": request.json(), "response": {"status": 202, "body": "bounced"}}


@me.step()
async def call_back(ctx, step_results):
    hops = step_results.trigger["hops"] + 1
    answer = await ctx.api.request("POST", "/webhooks/me/bounce?conn=m1", data={"hops": hops})
    return {"status": answer.status}


acme.flow("twenty", steps=[step.code(f"Step {n:02d}", effect) for n in range(1, 21)])
acme.flow("loop", steps=[step.for_each("Each", items=expr("trigger.payload.items"), concurrency=2,
                                       steps=[step.code("Item", slow_item)])])
me.flow("ping_pong", trigger="bounce", steps=[step.code("Call back", call_back)])
hooks.flow("on_event", trigger="events", steps=[step.code("Double", double)])
hooks.flow("answer", trigger="ask", respond="flow", steps=[step.code("Double", double)])
"""


@pytest.fixture
def project(make_project: ProjectFactory) -> Path:
    return make_project({"acme.py": FLOWS})


async def connect(rt: Runtime, api: DemoAPI) -> str:
    await rt.connections.add("acme", "c1", {"api_key": "demo-key"}, config={"api_url": api.url})
    _, token = await rt.store.tokens.create("test")
    return token


def session(url: str, token: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(url, headers={"Authorization": f"Bearer {token}"})


def counted(api: DemoAPI, what: str) -> dict[str, int]:
    """The demo API's effects per idempotency key: ``requests`` received, or ``applied``."""
    prefix = f"effects.{what}."
    return {key.removeprefix(prefix): count for key, count in api.stats.items() if key.startswith(prefix)}


async def children(rt: Runtime, run_id: str) -> list[RunRecord]:
    return list(reversed(await rt.runs.find(parent_id=run_id, limit=1000)))


async def test_a_flow_killed_mid_run_resumes_and_runs_no_finished_step_again(
    project: Path, api: DemoAPI, start_worker: StartWorker, database_url: str
) -> None:
    async with await Runtime.open(project, database_url=database_url) as rt:
        token = await connect(rt, api)
        serve = await asyncio.to_thread(start_worker, project, "serve", "srv1", database_url)
        body = {"connection_id": "c1", "wait": False}
        async with session(serve.api_url, token) as http, http.post("/flows/acme.twenty/run", json=body) as answer:
            assert answer.status == 202, await answer.text()
            run_id = (await answer.json())["id"]

        async def some_steps_done() -> bool:
            done = [c for c in await children(rt, run_id) if c.status == "succeeded"]
            return len(done) >= 8

        await until(some_steps_done, f"steps to finish\n{serve.output()}")
        assert await asyncio.to_thread(serve.kill) == -signal.SIGKILL
        finished_before = {c.step for c in await children(rt, run_id) if c.status == "succeeded"}
        assert 8 <= len(finished_before) < 20

        await asyncio.to_thread(start_worker, project, "serve", "srv1", database_url)
        run = await asyncio.wait_for(rt.flows.wait(run_id), START_TIMEOUT)
        assert run.status == "succeeded", run.error
        assert run.attempt == 2
        steps = await children(rt, run_id)
        keys = {f"{run_id}:Step {n:02d}" for n in range(1, 21)}
        applied = {
            k.removeprefix("effects.applied."): v for k, v in api.stats.items() if k.startswith("effects.applied.")
        }
        requests = {
            k.removeprefix("effects.requests."): v for k, v in api.stats.items() if k.startswith("effects.requests.")
        }
        assert applied == dict.fromkeys(keys, 1), "every step's effect applied exactly once"
        for step_key in finished_before:
            assert requests[f"{run_id}:{step_key}"] == 1, f"{step_key} ran again after the crash"
        succeeded = [c.step for c in steps if c.status == "succeeded"]
        assert sorted(succeeded) == sorted(f"Step {n:02d}" for n in range(1, 21))
        lost = [c for c in steps if c.status == "failed"]
        assert all(c.error["code"] == "WORKER_LOST" for c in lost) and len(lost) <= 1


async def test_a_flow_stopped_by_sigterm_in_a_loop_resumes_on_restart(
    project: Path, api: DemoAPI, start_worker: StartWorker
) -> None:
    async with await Runtime.open(project) as rt:
        token = await connect(rt, api)
        serve = await asyncio.to_thread(start_worker, project, "serve", "srv1")
        async with session(serve.api_url, token) as http:
            body = {"connection_id": "c1", "payload": {"items": list(range(10))}, "wait": False}
            async with http.post("/flows/acme.loop/run", json=body) as answer:
                run_id = (await answer.json())["id"]

        async def some_items_done() -> bool:
            return len([c for c in await children(rt, run_id) if c.status == "succeeded"]) >= 3

        await until(some_items_done, f"items to finish\n{serve.output()}")
        assert await asyncio.to_thread(serve.kill, signal.SIGTERM) == 0
        assert "Traceback" not in serve.output(), serve.output()
        done_before = {c.step for c in await children(rt, run_id) if c.status == "succeeded"}
        assert (await rt.runs.get(run_id)).status == "cancelled"

        await asyncio.to_thread(start_worker, project, "serve", "srv1")
        run = await asyncio.wait_for(rt.flows.wait(run_id), START_TIMEOUT)
        assert run.status == "succeeded", run.error
        assert [r["item"] for r in run.output] == list(range(10))
        requests = {
            k.removeprefix("effects.requests."): v for k, v in api.stats.items() if k.startswith("effects.requests.")
        }
        for step_key in done_before:
            assert requests[f"{run_id}:{step_key}"] == 1, f"{step_key} ran again after the stop"


async def test_flows_over_rest_and_webhooks(project: Path, api: DemoAPI, start_worker: StartWorker) -> None:
    async with await Runtime.open(project) as rt:
        token = await connect(rt, api)
        serve = await asyncio.to_thread(start_worker, project, "serve", "srv1")
        async with session(serve.api_url, token) as http:
            async with http.get("/flows") as answer:
                listed = {f["id"]: f for f in await answer.json()}
            assert listed["hooks.on_event"]["trigger"] == {"type": "webhook", "trigger": "events", "respond": "trigger"}
            async with http.get("/flows/acme.twenty") as answer:
                document = await answer.json()
            assert len(document["steps"]) == 20 and document["source"] == "code"

            made = {"integration": "hooks", "name": "made", "steps": [
                {"type": "code", "name": "Double", "function": "double"}]}  # fmt: skip
            async with http.post("/flows", json=made) as answer:
                assert answer.status == 201, await answer.text()
            async with http.post("/flows/hooks.made/run", json={"payload": {"n": 21}}) as answer:
                run: dict[str, Any] = await answer.json()
            assert answer.status == 200 and run["output"] == {"doubled": 42}, run
            async with http.get(f"/runs/{run['id']}") as answer:
                shown = await answer.json()
            assert [s["step"] for s in shown["steps"]] == ["Double"] and shown["version"] == run["version"]
            async with http.put("/flows/acme.twenty", json={**made, "integration": "acme"}) as answer:
                assert answer.status == 409 and (await answer.json())["error"]["code"] == "READ_ONLY"

            async with aiohttp.ClientSession(serve.api_url) as anyone:
                async with anyone.post("/webhooks/hooks/events", json={"n": 5}) as answer:
                    assert answer.status == 202 and await answer.text() == "queued"
                async with anyone.post("/webhooks/hooks/ask", json={"n": 4}) as answer:
                    assert answer.status == 200 and await answer.json() == {"doubled": 8}

        async def on_event_ran() -> list[RunRecord]:
            return [r for r in await rt.runs.find(script="on_event") if r.status == "succeeded"]

        (flow_run,) = await until(on_event_ran, f"the webhook's flow to run\n{serve.output()}")
        assert flow_run.output == {"doubled": 10} and flow_run.connection_id is None


async def test_a_flow_that_starts_itself_through_a_webhook_is_cut(
    project: Path, api: DemoAPI, start_worker: StartWorker
) -> None:
    """The flow's step calls the webhook that starts the same flow: without the chain its
    requests carry, every run would start the next one, forever."""
    async with await Runtime.open(project) as rt:
        serve = await asyncio.to_thread(start_worker, project, "serve", "srv1")
        await rt.connections.add("me", "m1", {}, config={"url": serve.api_url})
        async with aiohttp.ClientSession(serve.api_url) as anyone:
            forged = {"Splice-Flow-Chain": "not-a-sealed-chain"}
            async with anyone.post("/webhooks/me/bounce?conn=m1", json={"hops": 0}, headers=forged) as answer:
                assert answer.status == 202 and await answer.text() == "bounced"

        async def ended() -> list[RunRecord]:
            runs = await rt.runs.find(script="ping_pong")
            return runs if runs and all(r.status in ("succeeded", "failed") for r in runs) else []

        (run,) = await until(ended, f"the flow run to end\n{serve.output()}")
        assert run.status == "failed", run
        assert "answered 422" in run.error["message"] and "FLOW_CYCLE" in str(run.error["details"]), run.error
        assert "flow me.ping_pong would start itself again (me.ping_pong → me.ping_pong)" in str(run.error["details"])
        await asyncio.sleep(1.0)
        assert len(await rt.runs.find(script="ping_pong")) == 1, "a second run was started"
        (trigger_runs) = await rt.runs.find(script="bounce")
        assert len(trigger_runs) == 2
