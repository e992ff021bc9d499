"""``splice serve`` follows the project's files: new runs get new code, running runs keep theirs.

A real ``splice serve`` process serves a project; the test edits a module on disk and calls
the action over REST until the new code answers (a deadline, no sleeping on a guess). A run
started before the change finishes with the old code, the old zygote goes once it has ended,
and a module that stops importing keeps the last good version serving, logged once.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.conftest import SPLICE_TOML, ProjectFactory
from tests.engine.conftest import START_TIMEOUT, StartWorker, Worker

from splice.runtime import Runtime

HOT = """
import asyncio

from splice import Integration

hot = Integration("hot", base_url="http://127.0.0.1")
VERSION = {version}


@hot.action
async def version(ctx, input):
    return {{"version": VERSION}}


@hot.action
async def held(ctx, input):
    \"\"\"Runs until the test lets it go, then says which code it ran.\"\"\"
    await ctx.state.put("held", True, scope="global")
    while not await ctx.state.get("go", False, scope="global"):
        await asyncio.sleep(0.05)
    return {{"version": VERSION}}
{extra}
"""
ADDED = """

@hot.action
async def added(ctx, input):
    return {"added": VERSION}
"""


def write_hot(root: Path, version: int, extra: str = "") -> None:
    (root / "integrations" / "hot.py").write_text(HOT.format(version=version, extra=extra))


async def until(check: Callable[[], Any], what: str, timeout: float = START_TIMEOUT) -> Any:
    """Poll ``check`` (a function, or one returning an awaitable) until it gives something true;
    fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def call(http: aiohttp.ClientSession, action: str, **body: Any) -> tuple[int, dict[str, Any]]:
    async with http.post(f"/actions/hot/{action}", json=body) as response:
        return response.status, await response.json()


def zygotes(parent: int) -> list[int]:
    """The zygote processes ``parent`` started (one per project version in use)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"splice._runtime.zygote" in command:
            found.append(int(entry.name))
    return found


def logged(serve: Worker, text: str) -> list[str]:
    return [line for line in serve.output()[serve.offset :].splitlines() if text in line]


@pytest.mark.parametrize("isolation", ["process", "none"])
async def test_serve_runs_changed_code_for_new_runs_and_old_code_for_running_ones(
    make_project: ProjectFactory, start_worker: StartWorker, isolation: str
) -> None:
    root = make_project({}, toml=SPLICE_TOML + f'isolation = "{isolation}"\n')
    zygotes_per_version = 1 if isolation == "process" else 0
    write_hot(root, 1)
    async with await Runtime.open(root) as rt:
        _, secret = await rt.store.tokens.create("test")
        serve = await asyncio.to_thread(start_worker, root, "serve")
        headers = {"Authorization": f"Bearer {secret}"}
        async with aiohttp.ClientSession(serve.api_url, headers=headers) as http:
            status, body = await call(http, "version")
            assert (status, body["output"]) == (200, {"version": 1})
            status, started = await call(http, "held", timeout=0.5)
            assert status == 202, started
            await until(lambda: rt.state.get("global", "", "held"), "the held run to start")

            write_hot(root, 2, ADDED)

            async def version_2() -> bool:
                return (await call(http, "version"))[1].get("output") == {"version": 2}

            await until(version_2, "the changed code to answer")
            async with http.get("/integrations/hot") as response:
                assert "added" in [s["name"] for s in (await response.json())["scripts"]]
            assert (await call(http, "added"))[1]["output"] == {"added": 2}
            # the first version's zygote stays while the held run goes on
            assert len(zygotes(serve.proc.pid)) == 2 * zygotes_per_version

            await rt.state.put("global", "", "go", True)

            async def held_run() -> dict[str, Any] | None:
                async with http.get(f"/runs/{started['run_id']}") as response:
                    run = await response.json()
                return run if run["status"] != "running" else None

            run = await until(held_run, "the held run to end")
            assert (run["status"], run["output"]) == ("succeeded", {"version": 1})
            await until(lambda: len(zygotes(serve.proc.pid)) == zygotes_per_version, "the old zygote to stop")


async def test_a_module_that_stops_importing_keeps_the_last_good_version_serving(
    make_project: ProjectFactory, start_worker: StartWorker
) -> None:
    root = make_project({})
    write_hot(root, 1)
    async with await Runtime.open(root) as rt:
        _, secret = await rt.store.tokens.create("test")
    serve = await asyncio.to_thread(start_worker, root, "serve")
    async with aiohttp.ClientSession(serve.api_url, headers={"Authorization": f"Bearer {secret}"}) as http:
        write_hot(root, 2, "\n\ndef broken(:\n    pass\n")
        line = (root / "integrations" / "hot.py").read_text().splitlines().index("def broken(:") + 1
        failure = f"integrations/hot.py:{line} failed to import: SyntaxError"
        await until(lambda: logged(serve, failure), "the import failure in the log")

        for _ in range(3):
            assert (await call(http, "version"))[1]["output"] == {"version": 1}
        async with http.get("/integrations/hot") as response:
            assert response.status == 200
        assert len(logged(serve, failure)) == 1, serve.output()
        assert "runs go on with version 1" in logged(serve, failure)[0]

        write_hot(root, 3)

        async def version_3() -> bool:
            return (await call(http, "version"))[1].get("output") == {"version": 3}

        await until(version_3, "the fixed code to answer")
        assert len(logged(serve, "failed to import")) == 1
