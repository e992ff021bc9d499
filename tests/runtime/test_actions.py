"""Actions and ``ctx``: typed input/output, errors, limits, logs, config, env, state, metadata."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from tests.conftest import ProjectFactory

from splice.errors import InvalidInput, NotFound
from splice.runtime import Runtime

SCRIPTS = """
import asyncio, os
from pydantic import BaseModel
from splice import ActionError, Integration, auth

class Config(BaseModel):
    region: str = "eu"
    page_size: int = 50

crm = Integration("crm", base_url="https://api.crm.test", auth=auth.ApiKey(), config=Config)
tools = Integration("tools", base_url="https://tools.test")

class In(BaseModel):
    name: str
    count: int

class Out(BaseModel):
    greeting: str

@crm.action(input=In, output=Out)
async def greet(ctx, input: In) -> Out:
    print("printing", input.name)
    ctx.log.warning("careful", count=input.count)
    return Out(greeting=f"hello {input.name} x{input.count}")

@crm.action(output=Out)
async def wrong_output(ctx, input):
    return {"greeting": 42, "extra": True} if input == "type" else {"nope": 1}

@crm.action
async def refuse(ctx, input):
    raise ActionError({"reason": "duplicate", "id": 7}, status=409)

@crm.action
async def crash(ctx, input):
    def inner():
        raise ValueError("bad value " + ctx.credentials["api_key"])
    inner()

@crm.action
async def hang(ctx, input):
    ctx.log.info(f"pid {os.getpid()}")
    await asyncio.sleep(60)

@crm.action
async def spin(ctx, input):
    while True:
        pass

@crm.action
async def hog(ctx, input):
    blocks = []
    while True:
        blocks.append(bytearray(50 * 1024 * 1024))

@crm.action
async def context(ctx, input):
    ctx.log.info("env is " + ctx.env.get("SECRET_TOKEN", "missing"))
    return {
        "config": dict(ctx.config), "env": sorted(ctx.env), "credentials": sorted(ctx.credentials),
        "run": {"id": ctx.run.id, "script": ctx.run.script, "integration": ctx.run.integration,
                "connection_id": ctx.run.connection_id, "attempt": ctx.run.attempt},
        "same_api": ctx.api is ctx.external_api,
    }

@crm.action
async def stateful(ctx, input):
    for scope in ("script", "connection", "integration", "global"):
        await ctx.state.put("hits", (await ctx.state.get("hits", 0, scope=scope)) + 1, scope=scope)
    await ctx.state.put("other", {"a": [1, 2]})
    await ctx.metadata.set({"plan": "pro"})
    merged = await ctx.metadata.update({"seats": 3})
    return {
        "script": await ctx.state.get("hits"), "global": await ctx.state.get("hits", scope="global"),
        "keys": await ctx.state.keys(), "metadata": merged, "deleted": await ctx.state.delete("other"),
    }

@crm.action
async def bad_state(ctx, input):
    await ctx.state.put("k", {"ok": 1})
    try:
        await ctx.state.put("k", object())
    except Exception as exc:
        return {"error": type(exc).__name__, "message": str(exc), "kept": await ctx.state.get("k")}

@crm.action
async def huge_log_field(ctx, input):
    ctx.log.info("a field no database column holds", n=2**70)
    return {"ok": True}


@crm.action
async def nested(ctx, input):
    out = await ctx.trigger_action("greet", {"name": "inner", "count": 2})
    return {"inner": out}

@crm.action
async def loop(ctx, input):
    return await ctx.trigger_action("loop", {})

@tools.action
async def no_connection(ctx, input):
    return {"ok": True, "input": input}

@tools.action
async def scratch(ctx, input):
    import os
    path = ctx.scratch_dir / "note.txt"
    path.write_text("kept for this run")
    return {"dir": str(ctx.scratch_dir), "same": ctx.scratch_dir == path.parent, "listing": os.listdir(ctx.scratch_dir)}
"""


@pytest.fixture(params=["process", "none"])
async def rt(request: pytest.FixtureRequest, make_project: ProjectFactory):
    runtime = await Runtime.open(make_project({"crm.py": SCRIPTS}), isolation=request.param)
    await runtime.connections.add("crm", "c1", {"api_key": "sk_live_abcdef"}, config={"page_size": 10})
    await runtime.env.set("SECRET_TOKEN", "env-secret-value")
    yield runtime
    await runtime.close()


async def test_typed_action_with_logs_and_print(rt: Runtime) -> None:
    run = await rt.run("crm.greet", connection="c1", input={"name": "ada", "count": 2})
    assert run.status == "succeeded"
    assert run.output == {"greeting": "hello ada x2"}
    assert run.duration_ms is not None and run.duration_ms > 0
    lines = await rt.runs.logs(run_id=run.id)
    assert [(line.level, line.message) for line in lines] == [("info", "printing ada"), ("warning", "careful")]
    assert lines[1].fields == {"count": 2}
    stored = await rt.runs.get(run.id)
    assert stored.input == {"name": "ada", "count": 2}
    assert stored.output == run.output


async def test_invalid_input_names_the_field_and_stores_no_run(rt: Runtime) -> None:
    with pytest.raises(InvalidInput, match=r"count: Input should be a valid integer") as info:
        await rt.run("crm.greet", connection="c1", input={"name": "ada", "count": "many"})
    assert info.value.details["errors"][0]["field"] == "count"
    assert await rt.runs.find() == []


async def test_wrong_output_type_fails_the_run(rt: Runtime) -> None:
    run = await rt.run("crm.wrong_output", connection="c1", input="type")
    assert run.status == "failed"
    assert run.error["code"] == "INVALID_OUTPUT"
    assert "greeting" in run.error["message"]


async def test_action_error_carries_its_payload(rt: Runtime) -> None:
    run = await rt.run("crm.refuse", connection="c1")
    assert run.status == "failed"
    assert run.error["code"] == "ACTION_ERROR"
    assert run.error["details"] == {"payload": {"reason": "duplicate", "id": 7}, "status": 409}


async def test_script_exception_has_a_user_traceback_without_secrets(rt: Runtime) -> None:
    run = await rt.run("crm.crash", connection="c1")
    assert run.error["code"] == "SCRIPT_ERROR"
    assert run.error["details"]["type"] == "ValueError"
    trace = run.error["details"]["traceback"]
    assert "in inner" in trace and "crm.py" in trace
    assert "splice/" not in trace.replace("splice/tests", "")
    assert "sk_live_abcdef" not in str(run.error)
    assert "***" in run.error["message"]


async def test_hang_is_stopped_at_the_time_limit(rt: Runtime) -> None:
    run = await rt.run("crm.hang", connection="c1", time_limit=0.5)
    assert run.status == "timed_out"
    assert run.error["code"] == "TIME_LIMIT_EXCEEDED"
    assert run.duration_ms < 5000


async def test_busy_loop_is_stopped_at_the_time_limit(rt: Runtime) -> None:
    if rt.isolation == "none":
        pytest.skip("a busy loop blocks the event loop in-process; only a child can be stopped")
    run = await rt.run("crm.spin", connection="c1", time_limit=0.5)
    assert run.status == "timed_out"


async def test_memory_hog_is_stopped(rt: Runtime) -> None:
    if rt.isolation == "none":
        pytest.skip("memory limits apply to child processes")
    run = await rt.run("crm.hog", connection="c1")
    assert run.status == "failed"
    assert run.error["code"] == "MEMORY_LIMIT_EXCEEDED"


async def test_context_attributes(rt: Runtime) -> None:
    run = await rt.run("crm.context", connection="c1")
    assert run.output["config"] == {"region": "eu", "page_size": 10}
    assert run.output["env"] == ["SECRET_TOKEN"]
    assert run.output["credentials"] == ["api_key"]
    assert run.output["run"] == {
        "id": run.id,
        "script": "context",
        "integration": "crm",
        "connection_id": "c1",
        "attempt": 1,
    }
    assert run.output["same_api"] is True
    lines = await rt.runs.logs(run_id=run.id)
    assert lines[0].message == "env is ***"


async def test_state_scopes_and_metadata(rt: Runtime) -> None:
    first = await rt.run("crm.stateful", connection="c1")
    assert first.output == {
        "script": 1,
        "global": 1,
        "keys": ["hits", "other"],
        "metadata": {"plan": "pro", "seats": 3},
        "deleted": True,
    }
    await rt.connections.add("crm", "c2", {"api_key": "another-key"})
    second = await rt.run("crm.stateful", connection="c2")
    assert second.output["script"] == 1
    assert second.output["global"] == 2
    conn = await rt.connections.get("crm", "c1")
    assert conn.metadata == {"plan": "pro", "seats": 3}


async def test_bad_state_value_is_refused_and_keeps_the_old_value(rt: Runtime) -> None:
    run = await rt.run("crm.bad_state", connection="c1")
    assert run.output["error"] == "InvalidInput"
    assert "not JSON-serialisable" in run.output["message"]
    assert run.output["kept"] == {"ok": 1}


async def test_trigger_action_runs_a_child_run(rt: Runtime) -> None:
    run = await rt.run("crm.nested", connection="c1")
    assert run.output == {"inner": {"greeting": "hello inner x2"}}
    runs = await rt.runs.find(script="greet")
    assert runs[0].parent_id == run.id


async def test_trigger_action_loops_are_cut(rt: Runtime) -> None:
    run = await rt.run("crm.loop", connection="c1")
    assert run.status == "failed"
    assert "nested more than" in run.error["message"]


async def test_action_without_auth_needs_no_connection(rt: Runtime) -> None:
    run = await rt.run("tools.no_connection", input=[1, 2])
    assert run.output == {"ok": True, "input": [1, 2]}


async def test_unknown_names_are_clear(rt: Runtime) -> None:
    with pytest.raises(NotFound, match="unknown integration 'nope'"):
        await rt.run("nope.greet", connection="c1")
    with pytest.raises(NotFound, match=r"has no script 'nope'.*greet"):
        await rt.run("crm.nope", connection="c1")
    with pytest.raises(NotFound, match="connection 'c9'"):
        await rt.run("crm.greet", connection="c9", input={"name": "a", "count": 1})
    with pytest.raises(InvalidInput, match="needs a connection"):
        await rt.run("crm.greet", input={"name": "a", "count": 1})


async def test_secrets_are_encrypted_at_rest(rt: Runtime) -> None:
    await rt.run("crm.context", connection="c1")
    database = Path(rt.project.state_dir / "splice.db").read_bytes()
    for suffix in ("", "-wal"):
        path = rt.project.state_dir / f"splice.db{suffix}"
        data = path.read_bytes() if path.exists() else b""
        assert b"sk_live_abcdef" not in data
        assert b"env-secret-value" not in data
    assert database


async def test_deleting_a_connection_deletes_its_state(rt: Runtime) -> None:
    await rt.run("crm.stateful", connection="c1")
    await rt.connections.delete("crm", "c1")
    await rt.connections.add("crm", "c1", {"api_key": "sk_live_abcdef"})
    again = await rt.run("crm.stateful", connection="c1")
    assert again.output["script"] == 1
    assert again.output["global"] == 2
    assert again.output["metadata"] == {"plan": "pro", "seats": 3}


async def test_bad_connections_are_refused_and_store_nothing(rt: Runtime) -> None:
    with pytest.raises(InvalidInput, match="need api_key") as missing:
        await rt.connections.add("crm", "c3", {"token": "x"})
    assert "--credential api_key=" in (missing.value.hint or "")
    with pytest.raises(InvalidInput, match="'api_key' must be a string"):
        await rt.connections.add("crm", "c3", {"api_key": {"nested": 1}})
    with pytest.raises(InvalidInput, match="page_size: Input should be a valid integer"):
        await rt.connections.add("crm", "c3", {"api_key": "k"}, config={"page_size": "ten"})
    assert [c.id for c in await rt.connections.list("crm")] == ["c1"]


async def test_a_cancelled_caller_leaves_the_run_marked_cancelled(rt: Runtime) -> None:
    started = asyncio.Event()  # the script logs its pid, then hangs
    task = asyncio.create_task(rt.run("crm.hang", connection="c1", on_log=lambda line: started.set()))
    await asyncio.wait_for(started.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (run,) = await rt.runs.find(script="hang")
    assert run.status == "cancelled"
    assert run.error["code"] == "CANCELLED"
    if rt.isolation == "none":
        return
    (line,) = await rt.runs.logs(run_id=run.id)
    pid = int(line.message.split()[-1])
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"the cancelled run's process {pid} is still alive")


async def test_scratch_dir_is_the_runs_own_and_gone_after_it(rt: Runtime) -> None:
    first, second = await rt.run("tools.scratch"), await rt.run("tools.scratch")
    assert first.status == second.status == "succeeded"
    assert first.output["listing"] == ["note.txt"] and first.output["same"]
    assert first.output["dir"] != second.output["dir"]
    if rt.isolation == "none":  # a child's scratch lives in the zygote's own filesystem view
        assert not Path(first.output["dir"]).exists()


async def test_a_failure_inside_splice_ends_the_run_failed_never_running(rt: Runtime) -> None:
    run = await rt.run("crm.huge_log_field", connection="c1")
    assert run.status == "failed"
    stored = await rt.runs.get(run.id)
    assert (stored.status, stored.finished_at is not None) == ("failed", True)
    if rt.isolation == "none":  # the parent is handed the int itself, and its store cannot hold it
        assert stored.error["code"] == "INTERNAL_ERROR"
        assert "log fields is not JSON-serialisable" in stored.error["message"]
        assert "Traceback" not in str(stored.error)
    else:  # the child cannot encode it: the script's own error
        assert stored.error["code"] == "SCRIPT_ERROR"
