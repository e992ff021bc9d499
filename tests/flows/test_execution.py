"""Flow runs through the real runtime (both isolation modes) against the demo API: steps in order,
results by name, branches and loops, retries, continue_on_error, on_error for every way a step
fails, retries of a failed run from its failed step on the original or latest version."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.conftest import ProjectFactory

from splice.demo.server import DemoAPI
from splice.errors import Conflict, InvalidInput, NotFound
from splice.runtime import Runtime
from splice.store import RunRecord

PROJECT = """
import asyncio
from splice import ActionError, Integration, auth, expr, step

acme = Integration("acme", base_url="{config.api_url}/api", auth=auth.ApiKey())
free = Integration("free", base_url="http://127.0.0.1:9")


@acme.action
async def get_contact(ctx, input):
    effect = await ctx.api.post("/effects", {"step": "get"}, headers={"Idempotency-Key": ctx.run.idempotency_key})
    return {"id": input["id"], "orders": [{"n": 1}, {"n": 2}, {"n": 3}], "revenue": input.get("revenue", 0),
            "effect": effect["applied"]}


@acme.action
async def notify(ctx, input):
    return {"notified": input}


@acme.step()
async def tag_vip(ctx, step_results):
    contact = step_results["Get contact"]
    assert contact is step_results.get_contact and contact is step_results.getContact
    assert ctx.step_results is step_results and ctx.run.flow == "acme.onboard" and ctx.run.step == "Tag VIP"
    return {"vip": contact["revenue"] > 10_000, "payload": step_results.trigger}


@acme.step()
async def check_order(ctx, step_results):
    await asyncio.sleep(0.05)
    return {"order": step_results.item["n"] * 10, "index": step_results.index}


@acme.step()
async def flaky(ctx, step_results):
    tries = await ctx.state.get("tries", 0, scope="connection") + 1
    await ctx.state.put("tries", tries, scope="connection")
    if tries <= 3:
        raise RuntimeError(f"try {tries} fails")
    return {"tries": tries}


@acme.step()
async def gate(ctx, step_results):
    if await ctx.state.get("open", False, scope="connection") is not True:
        raise ActionError({"reason": "closed"}, status=409)
    return {"passed": True}


@acme.step()
async def sleepy(ctx, step_results):
    await asyncio.sleep(30)


@acme.step()
async def hog(ctx, step_results):
    block = bytearray(2 * 1024 * 1024 * 1024)
    return len(block)


@acme.step()
async def huge(ctx, step_results):
    return "x" * (5 * 1024 * 1024)


@acme.step()
async def alert(ctx, step_results):
    await ctx.state.put("alerted", step_results.error, scope="connection")
    return {"alerted": step_results.error["code"]}


acme.flow("onboard", steps=[
    step.action("Get contact", "get_contact", input={"id": expr("trigger.payload.id"),
                                                     "revenue": expr("trigger.payload.revenue")}),
    step.code("Tag VIP", tag_vip),
    step.branch("Route", when=[(expr("steps.tag_vip.vip"), [step.action("Notify", "notify",
                                                                        input=expr("steps.get_contact.id"))])],
                otherwise=[step.action("Skip", "notify", input="nobody")]),
    step.for_each("Each order", items=expr("steps.get_contact.orders"), concurrency=2,
                  steps=[step.code("Check order", check_order)]),
])

acme.flow("retrying", steps=[step.code("Flaky", flaky, retries={"attempts": 3, "delay": 0.05})])
acme.flow("gated", steps=[
    step.action("Get contact", "get_contact", input={"id": "g1"}),
    step.code("Gate", gate),
    step.action("After", "notify", input=expr("steps.gate.passed")),
], on_error=[step.code("Alert", alert)])
acme.flow("lenient", steps=[step.code("Gate", gate, continue_on_error=True), step.action("After", "notify", input=1)])

FAILURES = {
    "raises": step.code("Failing", gate),
    "times_out": step.code("Slow", sleepy, time_limit=0.5),
    "memory": step.code("Hog", hog),
    "predicate": step.branch("Bad branch", when=[(expr('$number("not a number") > 1'), [step.code("X", gate)])]),
    "not_a_list": step.for_each("Bad loop", items=expr("trigger.payload"), steps=[step.code("Y", gate)]),
    "too_large": step.code("Huge", huge),
}
for name, failing in FAILURES.items():
    acme.flow(f"fails_{name}", steps=[failing], on_error=[step.code("Alert", alert)])
"""

TOML = """
[project]
name = "flows"

[runtime]
time_limit = 20
memory_limit_mb = 512
"""


@pytest.fixture(params=["process", "none"])
async def rt(request: pytest.FixtureRequest, make_project: ProjectFactory, demo_api: DemoAPI) -> AsyncIterator[Runtime]:
    runtime = await Runtime.open(make_project({"acme.py": PROJECT}, toml=TOML), isolation=str(request.param))
    await runtime.connections.add("acme", "c1", {"api_key": "demo-key"}, config={"api_url": demo_api.url})
    yield runtime
    await runtime.close()


async def steps(rt: Runtime, run: RunRecord) -> list[tuple[str | None, str, Any]]:
    children = reversed(await rt.runs.find(parent_id=run.id, limit=1000))
    return [(c.step, c.status, c.output if c.status == "succeeded" else c.error["code"]) for c in children]


async def test_a_flow_runs_its_steps_in_order_with_results_by_name(rt: Runtime, demo_api: DemoAPI) -> None:
    run = await rt.flows.run("acme.onboard", connection="c1", payload={"id": "x1", "revenue": 20_000})
    assert run.status == "succeeded", run.error
    assert run.kind == "flow" and run.version and run.output == [
        {"order": 10, "index": 0}, {"order": 20, "index": 1}, {"order": 30, "index": 2},
    ]  # fmt: skip
    seen = await steps(rt, run)
    assert [s[0] for s in seen if s[0] and not s[0].startswith("Each order[")] == [
        "Get contact", "Tag VIP", "Route", "Notify", "Each order",
    ]  # fmt: skip
    results = {key: output for key, _, output in seen}
    assert results["Tag VIP"] == {"vip": True, "payload": {"id": "x1", "revenue": 20_000}}
    assert results["Route"] == {"case": 0} and results["Notify"] == {"notified": "x1"}
    assert sorted(k for k in results if k.startswith("Each order[")) == [
        "Each order[0]/Check order", "Each order[1]/Check order", "Each order[2]/Check order",
    ]  # fmt: skip
    assert all(status == "succeeded" for _, status, _ in seen)

    other = await rt.flows.run("acme.onboard", connection="c1", payload={"id": "x2", "revenue": 5})
    results = {key: output for key, _, output in await steps(rt, other)}
    assert results["Route"] == {"case": "otherwise"} and results["Skip"] == {"notified": "nobody"}


async def test_a_step_retries_then_succeeds(rt: Runtime) -> None:
    run = await rt.flows.run("acme.retrying", connection="c1")
    assert run.status == "succeeded" and run.output == {"tries": 4}
    assert [(s, status) for s, status, _ in await steps(rt, run)] == [
        ("Flaky", "failed"), ("Flaky", "failed"), ("Flaky", "failed"), ("Flaky", "succeeded"),
    ]  # fmt: skip


async def test_continue_on_error_goes_on_with_the_error_as_the_result(rt: Runtime) -> None:
    run = await rt.flows.run("acme.lenient", connection="c1")
    assert run.status == "succeeded" and run.output == {"notified": 1}
    gate = [output for key, _, output in await steps(rt, run) if key == "Gate"]
    assert gate == ["ACTION_ERROR"]


@pytest.mark.parametrize(
    ("flow", "code"),
    [
        ("raises", "ACTION_ERROR"),
        ("times_out", "TIME_LIMIT_EXCEEDED"),
        ("memory", "MEMORY_LIMIT_EXCEEDED"),
        ("predicate", "EXPRESSION_FAILED"),
        ("not_a_list", "EXPRESSION_FAILED"),
        ("too_large", "STEP_RESULT_TOO_LARGE"),
    ],
)
async def test_on_error_steps_always_fire(rt: Runtime, flow: str, code: str) -> None:
    if flow == "memory" and rt.isolation == "none":
        pytest.skip("memory limits apply to child processes")
    run = await rt.flows.run(f"acme.fails_{flow}", connection="c1", payload=5)
    assert run.status == "failed" and run.error["code"] == code, run.error
    assert run.error["step"] and run.finished_at is not None
    alerted = await rt.state.get("connection", "acme/c1", "alerted")
    assert alerted["code"] == code and alerted["step"] == run.error["step"]
    assert [s for s in await steps(rt, run) if s[0] == "Alert"] == [("Alert", "succeeded", {"alerted": code})]


async def test_a_failed_run_retried_from_its_failed_step_reuses_earlier_results(rt: Runtime, demo_api: DemoAPI) -> None:
    failed = await rt.flows.run("acme.gated", connection="c1")
    assert failed.status == "failed" and failed.error["step"] == "Gate"
    assert [s[0] for s in await steps(rt, failed)] == ["Get contact", "Gate", "Alert"]
    fine = await rt.flows.run("acme.onboard", connection="c1", payload={"id": "1", "revenue": 1})
    with pytest.raises(Conflict, match="only a failed flow run can be retried"):
        await rt.flows.retry(fine.id)
    get_calls = sum(v for k, v in demo_api.stats.items() if k.startswith("effects.requests."))

    await rt.state.put("connection", "acme/c1", "open", True)
    retried = await rt.flows.retry(failed.id)
    assert retried.status == "succeeded" and retried.output == {"notified": True}
    assert retried.input["retry_of"] == failed.id and retried.input["from_step"] == "Gate"
    seen = await steps(rt, retried)
    assert [(s[0], s[1]) for s in seen] == [("Get contact", "succeeded"), ("Gate", "succeeded"), ("After", "succeeded")]
    reused = (await rt.runs.find(parent_id=retried.id, limit=10))[-1]
    assert reused.input == {"reused_from": (await rt.runs.find(parent_id=failed.id, limit=10))[-1].id}
    assert sum(v for k, v in demo_api.stats.items() if k.startswith("effects.requests.")) == get_calls

    again = await rt.flows.retry(failed.id, from_step="start")
    assert again.status == "succeeded"
    assert sum(v for k, v in demo_api.stats.items() if k.startswith("effects.requests.")) == get_calls + 1


async def test_a_retry_runs_the_original_version_or_the_latest(rt: Runtime) -> None:
    document = {
        "integration": "acme", "name": "api_made",
        "steps": [{"type": "code", "name": "Gate", "function": "gate"}],
    }  # fmt: skip
    await rt.flows.create(document)
    failed = await rt.flows.run("acme.api_made", connection="c1")
    assert failed.status == "failed"
    await rt.flows.replace("acme.api_made", {**document, "steps": [
        {"type": "action", "name": "Gate", "action": "notify", "input": "changed"},
    ]})  # fmt: skip
    original = await rt.flows.retry(failed.id)
    assert original.status == "failed" and original.version == failed.version
    latest = await rt.flows.retry(failed.id, version="latest")
    assert latest.status == "succeeded" and latest.output == {"notified": "changed"}
    assert latest.version != failed.version


async def test_bad_runs_are_refused_before_anything_is_stored(rt: Runtime) -> None:
    with pytest.raises(NotFound, match="acme has no connection 'nobody'"):
        await rt.flows.run("acme.onboard", connection="nobody")
    with pytest.raises(InvalidInput, match="uses acme, which needs a connection"):
        await rt.flows.run("acme.onboard")
    with pytest.raises(NotFound, match=r"unknown flow 'acme\.nope'"):
        await rt.flows.run("acme.nope", connection="c1")
    with pytest.raises(InvalidInput, match="NaN"):
        await rt.flows.run("acme.onboard", connection="c1", payload={"x": float("nan")})
    with pytest.raises(Conflict, match="declared in the project's code"):
        await rt.flows.replace("acme.onboard", {"integration": "acme", "name": "onboard", "steps": []})
    assert await rt.runs.find(integration="acme") == []


async def test_a_queued_run_whose_connection_went_away_ends_failed_not_running(rt: Runtime) -> None:
    await rt.connections.add("acme", "gone", {"api_key": "demo-key"}, config={"api_url": "http://127.0.0.1:9"})
    queued = await rt.flows.run("acme.onboard", connection="gone", payload={"id": "1"}, background=True)
    assert queued.status == "queued" and queued.job_id
    await rt.connections.delete("acme", "gone")
    ended = await rt.flows.execute(queued.id, job_id=queued.job_id)
    assert ended.status == "failed" and ended.error["code"] == "NOT_FOUND"
    assert "acme has no connection 'gone'" in ended.error["message"]


async def test_a_flow_that_would_start_itself_again_is_cut(rt: Runtime) -> None:
    with pytest.raises(InvalidInput, match="would start itself again") as cut:
        await rt.flows.run("acme.onboard", connection="c1", chain=("acme.gated", "acme.onboard"))
    assert cut.value.code == "FLOW_CYCLE"
