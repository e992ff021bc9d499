"""The escape suite: each script tries a way out of its sandbox and must fail, clearly.

Every test asserts two things: the run's stored error says what was refused (status, code,
message), and the thing did not happen (the canary saw no connection, the file is not
there, the process is gone). A test skips, with the probe's reason, only on a host that
grants none of the protections that stop its escape.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

from tests.sandbox.conftest import Canary, need_any

from splice._sandbox import Protections
from splice.runtime import Runtime
from splice.store import RunRecord


def refused(run: RunRecord, code: str, *fragments: str) -> None:
    assert run.status == "failed", (run.status, run.output, run.error)
    assert run.error is not None and run.error["code"] == code, run.error
    for fragment in fragments:
        assert fragment in run.error["message"], run.error


# --- the network ----------------------------------------------------------------------


async def test_a_tcp_socket_to_the_demo_api_is_refused(rt: Runtime, canary: Canary, host: Protections) -> None:
    need_any(host, "network namespace", "seccomp")
    run = await rt.run("box.tcp", input={"host": canary.host, "port": canary.port})
    refused(run, "SANDBOX_DENIED", "the sandbox refused this")
    assert "ctx.api" in run.error["hint"]
    assert canary.connections == []


async def test_dns_resolution_is_refused(rt: Runtime, host: Protections) -> None:
    need_any(host, "network namespace", "seccomp")
    run = await rt.run("box.dns", input={"name": "localhost"})
    refused(run, "SANDBOX_DENIED", "gaierror")


async def test_ctypes_calling_socket_directly_is_refused(rt: Runtime, canary: Canary, host: Protections) -> None:
    need_any(host, "network namespace", "seccomp")
    run = await rt.run("box.ctypes_socket", input={"host": canary.host, "port": canary.port})
    refused(run, "SANDBOX_DENIED")
    assert canary.connections == []


async def test_subprocess_to_curl_is_refused(rt: Runtime, canary: Canary) -> None:
    run = await rt.run("box.curl", input={"url": f"http://{canary.host}:{canary.port}/"})
    refused(run, "PROCESS_LIMIT_EXCEEDED", "may not start processes")
    assert canary.connections == []


# --- files ------------------------------------------------------------------------------


async def test_the_sqlite_database_cannot_be_read(rt: Runtime, host: Protections) -> None:
    need_any(host, "filesystem view", "landlock")
    database = rt.project.state_dir / "splice.db"
    assert database.stat().st_size > 0
    run = await rt.run("box.read_file", input={"path": str(database)})
    refused(run, "SANDBOX_DENIED", str(database))
    assert run.output is None


async def test_the_key_file_cannot_be_read(rt: Runtime, host: Protections) -> None:
    need_any(host, "filesystem view", "landlock")
    key = rt.project.state_dir / "secret.key"
    assert key.is_file()
    run = await rt.run("box.read_file", input={"path": str(key)})
    refused(run, "SANDBOX_DENIED", "secret.key")
    assert key.read_bytes().hex()[:32] not in str(run.error)


async def test_the_parents_environ_and_memory_cannot_be_read(rt: Runtime, host: Protections) -> None:
    need_any(host, "filesystem view", "landlock", "uid drop")
    pid = os.getpid()
    environ = await rt.run("box.read_proc", input={"path": f"/proc/{pid}/environ"})
    refused(environ, "SANDBOX_DENIED", f"/proc/{pid}/environ")
    mem = await rt.run("box.read_proc", input={"path": f"/proc/{pid}/mem", "offset": id(rt)})
    refused(mem, "SANDBOX_DENIED", f"/proc/{pid}/mem")


async def test_nothing_outside_scratch_can_be_written(rt: Runtime, host: Protections) -> None:
    need_any(host, "filesystem view", "landlock")
    targets = [rt.project.root / "integrations" / "planted.py", Path(f"/tmp/splice-escape-{uuid.uuid4().hex}")]
    for target in targets:
        run = await rt.run("box.write_file", input={"path": str(target)})
        refused(run, "SANDBOX_DENIED", str(target))
        assert not target.exists()


async def test_another_runs_scratch_directory_cannot_be_read(rt: Runtime, host: Protections) -> None:
    need_any(host, "landlock")
    holder = asyncio.create_task(rt.run("box.hold_scratch", input={"secret": "run-a-secret"}))
    for _ in range(200):
        path = await rt.store.state.get("global", "", "held", None)
        if path:
            break
        await asyncio.sleep(0.05)
    assert path, "the first run never said where its scratch is"
    peek = await rt.run("box.peek_scratch", input={"path": path})
    refused(peek, "SANDBOX_DENIED", "secret.txt")
    assert "run-a-secret" not in str(peek.error)
    assert (await holder).output == "held"


async def test_a_file_past_the_size_limit_is_refused(rt: Runtime, host: Protections) -> None:
    need_any(host, "rlimits")
    run = await rt.run("box.big_file")
    refused(run, "FILE_SIZE_LIMIT_EXCEEDED", "8 MiB")


# --- processes, memory, time --------------------------------------------------------


async def test_a_fork_bomb_is_stopped_at_the_first_fork(rt: Runtime) -> None:
    run = await rt.run("box.fork_bomb")
    refused(run, "PROCESS_LIMIT_EXCEEDED")
    assert (await rt.run("box.quick")).output == "quick"


async def test_a_fork_through_ctypes_is_refused_by_the_kernel(rt: Runtime, host: Protections) -> None:
    need_any(host, "seccomp")
    run = await rt.run("box.raw_fork")
    refused(run, "PROCESS_LIMIT_EXCEEDED")


async def test_allocating_10_gb_fails_with_the_memory_limit(rt: Runtime, host: Protections) -> None:
    need_any(host, "rlimits")
    run = await rt.run("box.allocate")
    refused(run, "MEMORY_LIMIT_EXCEEDED", "memory limit")


async def test_an_infinite_loop_is_killed_at_its_time_limit_without_holding_up_others(rt: Runtime) -> None:
    started = time.monotonic()
    spin = asyncio.create_task(rt.run("box.spin"))
    assert (await rt.run("box.quick")).output == "quick"
    assert not spin.done()
    run = await spin
    assert run.status == "timed_out"
    assert run.error["code"] == "TIME_LIMIT_EXCEEDED"
    assert time.monotonic() - started < 10
    lines = await rt.runs.logs(run_id=run.id)
    pid = int(lines[0].message)
    for _ in range(100):
        if not Path(f"/proc/{pid}").exists():
            break
        await asyncio.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists(), "the looping process outlived its run"


async def test_killing_the_parent_is_refused(rt: Runtime, host: Protections) -> None:
    need_any(host, "uid drop", "landlock")
    run = await rt.run("box.kill", input={"pid": os.getpid()})
    refused(run, "SANDBOX_DENIED", "Operation not permitted")
    zygote = rt.executor._spawner._proc.pid  # the warm parent too
    run = await rt.run("box.kill", input={"pid": zygote})
    refused(run, "SANDBOX_DENIED")
    assert (await rt.run("box.quick")).output == "quick"


# --- what goes back to the parent -----------------------------------------------------


async def test_a_1_gb_return_value_is_refused(rt: Runtime) -> None:
    run = await rt.run("box.huge_output")
    refused(run, "OUTPUT_TOO_LARGE", "over 16,777,216 bytes of JSON")
    assert run.output is None


async def test_a_million_log_lines_are_cut_without_stalling_the_parent(rt: Runtime) -> None:
    flood = asyncio.create_task(rt.run("box.flood"))
    await asyncio.sleep(0.3)
    quick = await rt.run("box.quick")
    assert quick.output == "quick"
    assert not flood.done(), "the other run should still be flooding"
    run = await flood
    assert run.output == "flooded"
    lines = await rt.runs.logs(run_id=run.id, limit=200_000)
    assert len(lines) == 100_001
    assert lines[-1].level == "warning"
    assert lines[-1].message.startswith("900000 log lines dropped")


async def test_a_flood_that_bypasses_ctx_log_is_cut_by_the_parent(rt: Runtime, monkeypatch: object) -> None:
    from splice._runtime import gateway

    monkeypatch.setattr(gateway, "MAX_LOG_LINES", 1000)  # type: ignore[attr-defined]
    run = await rt.run("box.raw_flood", input={"lines": 50_000})
    assert run.output == "flooded"
    lines = await rt.runs.logs(run_id=run.id, limit=10_000)
    assert len(lines) == 1001
    assert lines[-1].message.startswith("49000 log lines dropped")


# --- credentials of other connections -------------------------------------------------


async def test_another_connections_credentials_are_out_of_reach(rt: Runtime) -> None:
    run = await rt.run("acme.steal", connection="own")
    refused(run, "CONNECTION_NOT_ALLOWED", "own connection")
    others = await rt.run("acme.steal_other_ways", connection="own")
    assert others.output == {
        "raw_channel": {"error": "CONNECTION_NOT_ALLOWED"},
        "other_integration": {"error": "INVALID_INPUT"},
        "unknown_op": {"error": "INVALID_INPUT"},
        "metadata": {"ok": "{}"},
        "global_state": {"ok": "[]"},
        "own": ["api_key"],
    }
    for stored in (run, others):
        assert "victim-secret-key" not in repr(stored)
        logs = await rt.runs.logs(run_id=stored.id)
        assert "victim-secret-key" not in repr(logs)
