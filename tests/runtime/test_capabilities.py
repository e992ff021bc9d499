"""``ctx`` capabilities follow the run's kind: one it lacks is a clear, named error on both sides.

A script of a kind without a capability gets :class:`CapabilityNotGranted` naming the
attribute and who has it; a child that sends the operation over its raw channel anyway is
refused by the parent the same way (it never reaches a handler).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import pytest
from tests.conftest import ProjectFactory

from splice._http.redact import Redactor
from splice._runtime.capabilities import HANDLERS, RunScope
from splice._runtime.capability import CAPABILITIES
from splice._runtime.channel import LocalChannel
from splice._runtime.gateway import RunGateway
from splice._runtime.kinds import KINDS
from splice.context import Context, RunInfo
from splice.errors import CapabilityNotGranted
from splice.runtime import Runtime
from splice.triggers import WebhookRequest

PROJECT = """
from splice import Integration

box = Integration("box", base_url="http://127.0.0.1:9")


async def attempt(what):
    try:
        await what()
    except Exception as exc:
        return {"code": getattr(exc, "code", None), "message": str(exc)}
    return {"code": None}


async def reach(ctx):
    return {
        "records": await attempt(lambda: ctx.records.save([{"id": 1}])),
        "checkpoint": await attempt(lambda: ctx.checkpoint.get()),
        "raw_records": await attempt(lambda: ctx._channel.call("records.save", {"model": "X"}, b"[]")),
        "raw_checkpoint": await attempt(lambda: ctx._channel.call("checkpoint.save", {"value": {}})),
        "has_records": hasattr(ctx, "records"),
    }


@box.action
async def an_action(ctx, input):
    return await reach(ctx)


@box.trigger()
async def a_trigger(ctx, request):
    return await reach(ctx)
"""


@pytest.fixture(params=["process", "none"])
async def rt(request: pytest.FixtureRequest, make_project: ProjectFactory) -> AsyncIterator[Runtime]:
    runtime = await Runtime.open(make_project({"box.py": PROJECT}), isolation=str(request.param))
    yield runtime
    await runtime.close()


def assert_refused(seen: dict[str, object], attribute: str, kind: str) -> None:
    assert seen["code"] == "CAPABILITY_NOT_GRANTED", seen
    assert f"ctx.{attribute} is not available to a {kind}; it is available to syncs" in str(seen["message"])


async def test_actions_and_triggers_cannot_reach_records_or_checkpoints(rt: Runtime) -> None:
    action = await rt.run("box.an_action")
    _, answer = await rt.run_trigger("box", "a_trigger", WebhookRequest(method="POST", path="/", body=b"{}"))
    trigger = (await rt.runs.find(script="a_trigger"))[0]
    for run, kind in ((action, "action"), (trigger, "trigger")):
        assert run.status == "succeeded", run.error
        seen = run.output if kind == "action" else orjson.loads(answer.body)
        for capability in ("records", "checkpoint"):
            assert_refused(seen[capability], capability, kind)
            assert_refused(seen[f"raw_{capability}"], capability, kind)
        assert seen["has_records"] is False
    assert answer.status == 200


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_capability_a_kind_lacks_is_refused_by_name_in_the_child(kind: str) -> None:
    ctx = Context(
        LocalChannel(_never, _never, lambda message: None),  # type: ignore[arg-type]
        run=RunInfo(id="r", integration="box", script="s", connection_id=None, started_at=datetime.now(UTC)),
        credentials={},
        config={},
        env={},
        kind=kind,
        capabilities=(),
    )
    for capability in CAPABILITIES.values():
        for attribute in capability.attributes:
            with pytest.raises(CapabilityNotGranted) as refused:
                getattr(ctx, attribute)
            assert f"ctx.{attribute} is not available to a {kind}" in refused.value.message
            assert refused.value.details == {"capability": capability.name, "kind": kind}
    with pytest.raises(AttributeError, match="ctx has no attribute 'nope'"):
        ctx.nope  # noqa: B018


async def test_every_capability_a_kind_lacks_is_refused_by_the_parent() -> None:
    scope = RunScope("r", None, None, None, Redactor(), _never, lambda *line: None)  # type: ignore[arg-type]
    gateway = RunGateway(scope, {}, "action")
    for capability in CAPABILITIES.values():
        for verb in capability.verbs:
            with pytest.raises(CapabilityNotGranted, match="is not available to a action"):
                await gateway.handle(capability.op(verb), {}, b"")
    operations = {name for name, capability in CAPABILITIES.items() if capability.verbs}
    assert set(HANDLERS) == operations, "every capability with operations has its parent-side handler"


async def _never(*args: object) -> object:
    raise AssertionError("a refused capability reached a handler")


def test_ctx_engine_is_granted_to_every_kind() -> None:
    granted = {name for name, kind in KINDS.items() if "engine" in kind.capabilities}
    assert granted == {"action", "sync", "trigger", "step", "export", "import"}
    assert CAPABILITIES["engine"].granted_to == "actions, syncs, triggers, flow steps, exports and imports"


async def test_ctx_engine_without_its_services_is_a_clear_internal_error() -> None:
    scope = RunScope("r", None, None, None, Redactor(), _never, lambda *line: None)  # type: ignore[arg-type]
    with pytest.raises(Exception, match=r"ctx\.engine is not available in this runner"):
        await HANDLERS["engine"](scope).call("lookups_purge", {"cache": "box.c"}, b"")
