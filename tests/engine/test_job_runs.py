"""A queued job's runs found by its job id: real ``splice worker`` / ``splice serve`` processes,
the jobs queued and read back through the CLI and over HTTP, as a user would (issue 12, item 2)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
from tests.cli._cli import Result, asplice, clean_env
from tests.engine.conftest import START_TIMEOUT, StartWorker

from splice.demo.server import DemoAPI


async def ok(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    result = await asplice(*args, cwd=cwd, env=env)
    assert result.code == 0, result
    return result


async def connect(project: Path, api: DemoAPI) -> None:
    await ok("connections", "add", "acme", "c1", "--credential", "api_key=demo-key", "--config",
             f"api_url={api.url}", cwd=project)  # fmt: skip


async def job_runs(project: Path, job: str, attempts: int = 1) -> dict[str, Any]:
    """``splice runs show --job JOB --json`` once the job's ``attempts``-th attempt has ended."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        shown = await asplice("runs", "show", "--job", job, "--json", cwd=project)
        if shown.code == 0 and shown.json()["attempt"] == attempts and shown.json()["finished_at"]:
            return dict(shown.json())
        assert shown.code == 0 or "no run of job" in shown.stderr, shown
        assert time.monotonic() < deadline, f"job {job} did not get to attempt {attempts}: {shown}"
        await asyncio.sleep(0.2)


async def test_a_background_action_and_a_retried_sync_are_found_by_their_job_id(
    project: Path, api: DemoAPI, start_worker: StartWorker
) -> None:
    await connect(project, api)
    await asyncio.to_thread(start_worker, project, "worker")

    queued = await ok("run", "acme.ping", "-c", "c1", "--input", '{"n": 1}', "--background", cwd=project)
    job = queued.json()["job_id"]
    assert f"splice runs show --job {job}" in queued.stderr
    run = await job_runs(project, job)
    assert (run["job_id"], run["script"], run["status"], run["output"]) == (
        job,
        "ping",
        "succeeded",
        {"pong": {"n": 1}},
    )
    assert [attempt["id"] for attempt in run["attempts"]] == [run["id"]]
    listed = (await ok("runs", "list", "--json", "--script", "acme.ping", cwd=project)).json()
    assert [(r["id"], r["job_id"]) for r in listed] == [(run["id"], job)]

    triggered = await ok("syncs", "trigger", "acme.flaky", "-c", "c1", cwd=project)
    job = triggered.stderr.split("job ")[1].split()[0]
    run = await job_runs(project, job, attempts=3)  # attempts 1 and 2 fail, the third succeeds
    assert [(a["attempt"], a["status"]) for a in run["attempts"]] == [(3, "succeeded"), (2, "failed"), (1, "failed")]
    assert {a["job_id"] for a in run["attempts"]} == {job}
    assert run["attempts"][1]["error"]["details"]["message"] == "attempt 2 fails"

    text = (await ok("runs", "show", "--job", job, cwd=project)).stdout
    assert f"attempts of job {job} (newest first)" in text
    rows = [line for line in text.split("(newest first)")[1].splitlines() if "acme.flaky" in line]
    assert [row.split()[0] for row in rows] == [a["id"][-8:] for a in run["attempts"]], text
    assert rows[0].split()[1] == "←" and "failed SCRIPT_ERROR (attempt 2)" in rows[1], text
    older = (await ok("runs", "show", run["attempts"][2]["id"][-8:], cwd=project)).stdout
    assert (
        f"job        {job}, attempt 1" in older and "error      [SCRIPT_ERROR] RuntimeError: attempt 1 fails" in older
    )


async def test_an_action_queued_over_rest_is_found_by_its_job_id(
    project: Path, api: DemoAPI, start_worker: StartWorker
) -> None:
    await connect(project, api)
    for sync in ("acme.items", "acme.flaky", "acme.slow"):  # only the queued action runs
        await ok("syncs", "pause", sync, cwd=project)
    token = (await ok("tokens", "create", "test", cwd=project)).stdout.strip().splitlines()[-1]
    serve = await asyncio.to_thread(start_worker, project, "serve")

    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(serve.api_url, headers=headers) as http:
        body = {"connection_id": "c1", "input": {"n": 2}, "wait": False}
        async with http.post("/actions/acme/ping", json=body) as response:
            assert response.status == 202, await response.text()
            job = (await response.json())["job_id"]
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            async with http.get("/runs", params={"job_id": job}) as response:
                assert response.status == 200, await response.text()
                runs = await response.json()
            if runs and runs[0]["status"] == "succeeded":
                break
            assert time.monotonic() < deadline, f"no finished run of job {job}: {runs}\n{serve.output()}"
            await asyncio.sleep(0.2)
        (run,) = runs
        assert (run["job_id"], run["output"]) == (job, {"pong": {"n": 2}})
        async with http.get(f"/runs/{run['id'][-8:]}") as response:  # a short id, as the CLI shows it
            assert response.status == 200 and (await response.json())["id"] == run["id"]

    env = clean_env(SPLICE_SERVER=serve.api_url, SPLICE_TOKEN=token)
    shown = await ok("runs", "show", "--job", job, "--json", cwd=project.parent, env=env)
    assert shown.json()["id"] == run["id"] and [a["id"] for a in shown.json()["attempts"]] == [run["id"]]
    ended = await ok("logs", "--run", run["id"][-8:], cwd=project.parent, env=env)
    assert ended.stdout.splitlines()[-1].split(maxsplit=3)[3].startswith(f"run {run['id'][-8:]} succeeded in "), ended
    assert json.loads((await ok("runs", "list", "--json", "--kind", "action", cwd=project.parent, env=env)).stdout)
