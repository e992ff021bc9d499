"""Process mode: each run in its own child; crashes and hangs do not touch the parent."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from tests.conftest import ProjectFactory

from splice.runtime import Runtime

SCRIPTS = """
import asyncio, os, signal
from splice import Integration

box = Integration("box", base_url="https://box.test")

@box.action
async def pid(ctx, input):
    return {"pid": os.getpid(), "pgid": os.getpgid(0), "env": sorted(k for k in os.environ if k.startswith("SPLICE_"))}

@box.action
async def exit_hard(ctx, input):
    os._exit(3)

@box.action
async def segfault(ctx, input):
    os.kill(os.getpid(), signal.SIGSEGV)

@box.action
async def nap(ctx, input):
    await asyncio.sleep(0.3)
    return "rested"

@box.action
async def chatty(ctx, input):
    for i in range(5000):
        ctx.log.debug(f"line {i}")
    return "done"
"""


@pytest.fixture
async def rt(make_project: ProjectFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[Runtime]:
    monkeypatch.setenv("SPLICE_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("SPLICE_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    runtime = await Runtime.open(make_project({"box.py": SCRIPTS}), isolation="process")
    yield runtime
    await runtime.close()


async def test_each_run_gets_a_fresh_child_without_private_env(rt: Runtime) -> None:
    first = await rt.run("box.pid")
    second = await rt.run("box.pid")
    pids = {first.output["pid"], second.output["pid"]}
    assert len(pids) == 2
    assert os.getpid() not in pids
    assert first.output["pgid"] == first.output["pid"]
    assert "SPLICE_SECRET_KEY" not in first.output["env"]
    assert "SPLICE_DATABASE_URL" not in first.output["env"]


async def test_a_child_that_exits_is_reported_and_the_next_run_works(rt: Runtime) -> None:
    run = await rt.run("box.exit_hard")
    assert run.status == "failed"
    assert run.error["code"] == "CHILD_CRASHED"
    assert "exit code 3" in run.error["message"]
    crashed = await rt.run("box.segfault")
    assert crashed.error["code"] == "CHILD_CRASHED"
    assert "signal 11" in crashed.error["message"]
    assert (await rt.run("box.nap")).output == "rested"


async def test_runs_execute_in_parallel(rt: Runtime) -> None:
    await rt.run("box.pid")
    started = time.perf_counter()
    runs = await asyncio.gather(*(rt.run("box.nap") for _ in range(8)))
    elapsed = time.perf_counter() - started
    assert [r.output for r in runs] == ["rested"] * 8
    assert elapsed < 2.0, f"8 runs of 0.3 s took {elapsed:.2f} s: not parallel (serially: 2.4 s)"


async def test_many_log_lines_are_all_stored(rt: Runtime) -> None:
    run = await rt.run("box.chatty")
    assert run.output == "done"
    lines = await rt.runs.logs(run_id=run.id, limit=10000)
    assert len(lines) == 5000
    assert lines[-1].message == "line 4999"


async def test_a_dead_workers_sandbox_folder_is_removed_by_the_next_one(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    """A worker killed with SIGKILL cannot remove its folder; the next worker to start does."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    abandoned = Path(tempfile.gettempdir()) / f"splice-sandbox-{gone.pid}-test"
    abandoned.mkdir()
    living = Path(tempfile.gettempdir()) / f"splice-sandbox-{os.getpid()}-test"
    living.mkdir()
    try:
        runtime = await Runtime.open(make_project({"box.py": SCRIPTS}), isolation="process")
        try:
            assert (await runtime.run("box.pid")).status == "succeeded"
        finally:
            await runtime.close()
        assert not abandoned.exists()
        assert living.exists()  # its worker (this process) is alive
    finally:
        shutil.rmtree(abandoned, ignore_errors=True)
        shutil.rmtree(living, ignore_errors=True)
