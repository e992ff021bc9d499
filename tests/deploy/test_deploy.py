"""``splice deploy`` end to end: the CLI uploads to a real ``splice serve``, workers run what is deployed.

The server's own project folder answers version 0 (``hot.version``); only deployed code answers
1, 2…, so an answer says which code ran. Runs going when a new version lands finish on theirs,
new runs use the new one, a rollback brings old code back as a new version, and a worker with
no project folder at all runs the version in the database.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from tests.cli._cli import Result, asplice, clean_env
from tests.deploy.conftest import Start
from tests.engine.test_reload import call, until, write_hot

from splice.deploy import check_archive, pack
from splice.runtime import Runtime
from splice.store import TokenScope

STAMP = """
from splice import step
import asyncio


@hot.step()
async def wait(ctx, step_results):
    # holds the flow until the test lets it go
    await ctx.state.put("flow_held", True, scope="global")
    while not await ctx.state.get("flow_go", False, scope="global"):
        await asyncio.sleep(0.05)
    return {"version": VERSION}


@hot.step()
async def say(ctx, step_results):
    return {"version": VERSION}


hot.flow("stamp", steps=[step.code("Wait", wait), step.code("Say", say)])
"""


async def deploy(root: Path, server: str, token: str, *args: str) -> Result:
    return await asplice("deploy", "--server", server, *args, cwd=root, env=clean_env(SPLICE_TOKEN=token))


async def answers(http: aiohttp.ClientSession, version: int) -> bool:
    return (await call(http, "version"))[1].get("output") == {"version": version}


async def get_run(http: aiohttp.ClientSession, run_id: str) -> dict[str, Any]:
    async with http.get(f"/runs/{run_id}") as response:
        return await response.json()  # type: ignore[no-any-return]


async def test_new_runs_use_a_deploy_while_running_ones_finish_on_theirs_and_rollback(
    database_url: str, hot: Callable[[int], Path], start: Start
) -> None:
    server_root = hot(0)
    async with await Runtime.open(server_root, database_url=database_url) as rt:
        _, secret = await rt.store.tokens.create("test")
        made = await asplice("tokens", "create", "ci", "--deploy", cwd=server_root,
                             env=clean_env(SPLICE_DATABASE_URL=database_url))  # fmt: skip
        assert made.code == 0, made
        deploy_token = made.stdout.strip()
        assert "full access, deploy" in made.stderr
        serve = await asyncio.to_thread(start, server_root, "serve", SPLICE_DATABASE_URL=database_url)
        async with aiohttp.ClientSession(serve.api_url, headers={"Authorization": f"Bearer {secret}"}) as http:
            assert await answers(http, 0)  # nothing deployed: the files on disk

            v1 = hot(1)
            first = await deploy(v1, serve.api_url, deploy_token, "-m", "first")
            assert first.code == 0, first
            assert "version 1 is current" in first.stdout
            again = await deploy(v1, serve.api_url, deploy_token)
            assert "unchanged: version 1 is current and has this very code" in again.stdout, again
            await until(lambda: answers(http, 1), "deployed version 1 to answer")

            status, held = await call(http, "held", timeout=0.5)
            assert status == 202, held
            await until(lambda: rt.state.get("global", "", "held"), "the held run to start")

            second = await deploy(hot(2), serve.api_url, deploy_token)
            assert "version 2 is current" in second.stdout, second
            await until(lambda: answers(http, 2), "deployed version 2 to answer")
            await rt.state.put("global", "", "go", True)

            async def held_run() -> dict[str, Any] | None:
                run = await get_run(http, held["run_id"])
                return run if run["status"] != "running" else None

            run = await until(held_run, "the held run to end")
            assert (run["status"], run["output"], run["project_version"]) == ("succeeded", {"version": 1}, 1)
            _, new = await call(http, "version")
            assert (await get_run(http, new["run_id"]))["project_version"] == 2

            back = await deploy(server_root, serve.api_url, deploy_token, "--rollback")
            assert "version 3 (the code of version 1) is current" in back.stdout, back
            await until(lambda: answers(http, 1), "the rolled-back code to answer")
            listed = (await deploy(server_root, serve.api_url, deploy_token, "--list", "--json")).json()
            assert [(v["number"], v["current"], v["rollback_of"]) for v in listed] == [
                (3, True, 1), (2, False, None), (1, False, None),
            ]  # fmt: skip
            assert (listed[2]["message"], listed[2]["created_by"]) == ("first", "ci")

            shown = await asplice("runs", "show", held["run_id"], "--server", serve.api_url, cwd=server_root,
                                  env=clean_env(SPLICE_TOKEN=secret))  # fmt: skip
            assert "deployed version 1" in shown.stdout, shown


async def test_a_worker_without_the_project_runs_the_version_in_the_database(
    database_url: str, hot: Callable[[int], Path], start: Start, tmp_path: Path, cache: Path
) -> None:
    server_root = hot(0)
    write_hot(server_root, 0, STAMP)
    empty = tmp_path / "empty"
    empty.mkdir()
    async with await Runtime.open(server_root, database_url=database_url) as rt:
        first = hot(1)
        write_hot(first, 1, STAMP)
        archive = pack(first, "integrations")
        await rt.store.deploys.create(archive, check_archive(archive).digest)
        key = ",".join((server_root / ".splice" / "secret.key").read_text().split())
        worker = await asyncio.to_thread(
            start, empty, "worker", SPLICE_DATABASE_URL=database_url, SPLICE_SECRET_KEY=key
        )
        assert "deployed version 1" in worker.output()

        async def ran(job: str) -> dict[str, Any] | None:
            runs = await rt.runs.find(job_id=job)
            return {"output": runs[0].output, "version": runs[0].project_version} if runs and runs[0].output else None

        job = await rt.enqueue("hot.version")
        assert await until(lambda: ran(job), "the worker to run the job") == {"output": {"version": 1}, "version": 1}
        flow = await rt.flows.run("hot.stamp", background=True)
        await until(lambda: rt.state.get("global", "", "flow_held"), "the flow's first step to start")

        second = hot(2)
        write_hot(second, 2, STAMP)
        archive = pack(second, "integrations")
        await rt.store.deploys.create(archive, check_archive(archive).digest)
        # a worker reads the newest number at most once a second (when a run starts, and in the background)
        await until(lambda: "deployed version 2 loaded" in worker.output(), "the worker to load version 2")
        job = await rt.enqueue("hot.version")
        assert await until(lambda: ran(job), "the next job") == {"output": {"version": 2}, "version": 2}

        # the flow that started on version 1 runs its next step on version 1 too
        await rt.state.put("global", "", "flow_go", True)

        async def flow_ran() -> tuple[Any, int | None] | None:
            run = await rt.runs.get(flow.id)
            return (run.output, run.project_version) if run.status == "succeeded" else None

        assert await until(flow_ran, "the flow to finish") == ({"version": 1}, 1)
        assert sorted(p.name.split("-")[0] for p in (cache / "versions").iterdir()) == ["1", "2"]

        # an API server needs no copy either
        _, secret = await rt.store.tokens.create("test")
        serve = await asyncio.to_thread(
            start, empty, "serve", "s1", SPLICE_DATABASE_URL=database_url, SPLICE_SECRET_KEY=key
        )
        assert "deployed version 2" in serve.output()
        async with aiohttp.ClientSession(serve.api_url, headers={"Authorization": f"Bearer {secret}"}) as http:
            assert await answers(http, 2)
        assert not list(empty.iterdir())  # nothing written where the processes were started


async def test_a_worker_with_nothing_to_run_says_what_is_missing(database_url: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    no_key = await asplice("worker", "--database-url", database_url, cwd=empty)
    assert no_key.code == 1 and "SPLICE_SECRET_KEY is not set" in no_key.stderr, no_key
    no_code = await asplice("worker", "--database-url", database_url, cwd=empty,
                            env=clean_env(SPLICE_SECRET_KEY="x" * 43 + "="))  # fmt: skip
    assert no_code.code == 1 and "nothing deployed in the database" in no_code.stderr, no_code
    no_database = await asplice("worker", cwd=empty)
    assert no_database.code == 1 and "--database-url URL" in no_database.stderr, no_database


async def test_a_worker_without_the_project_refuses_a_newest_version_that_does_not_load(
    database_url: str, hot: Callable[[int], Path], tmp_path: Path
) -> None:
    broken = hot(1)
    with (broken / "integrations" / "hot.py").open("a") as module:
        module.write("\n\ndef broken(:\n    pass\n")
    async with await Runtime.open(hot(0), database_url=database_url) as rt:
        archive = pack(broken, "integrations")
        await rt.store.deploys.create(archive, check_archive(archive).digest)
    env = clean_env(SPLICE_SECRET_KEY="x" * 43 + "=", SPLICE_CACHE_DIR=str(tmp_path / "cache"))
    result = await asplice("worker", "--database-url", database_url, cwd=tmp_path, env=env)
    assert result.code == 1, result
    assert "error: deployed version 1 does not load: " in result.stderr and "SyntaxError" in result.stderr
    assert "splice deploy --rollback" in result.stderr


async def test_bad_deploys_answer_clear_errors_and_lose_nothing(
    hot: Callable[[int], Path], start: Start, tmp_path: Path
) -> None:
    server_root = hot(0)
    toml = server_root / "splice.toml"
    toml.write_text(toml.read_text() + "\n[server]\nmax_deploy_mb = 1\n")
    async with await Runtime.open(server_root) as rt:
        _, plain = await rt.store.tokens.create("plain")
        _, deployer = await rt.store.tokens.create("ci", TokenScope(deploy=True))
    serve = await asyncio.to_thread(start, server_root, "serve")
    url = serve.api_url
    assert (await deploy(hot(1), url, deployer)).code == 0

    refused = await deploy(hot(2), url, plain)
    assert refused.code == 1 and "this access token may not deploy" in refused.stderr, refused
    assert "splice tokens create NAME --deploy" in refused.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    no_project = await deploy(empty, url, deployer)
    assert no_project.code == 1 and "no splice.toml" in no_project.stderr, no_project
    unknown = await deploy(server_root, url, deployer, "--rollback", "9")
    assert unknown.code == 1 and "no deployed version 9" in unknown.stderr, unknown

    async with aiohttp.ClientSession(url, headers={"Authorization": f"Bearer {deployer}"}) as http:
        for body, status, code in [
            (b"junk", 422, "INVALID_ARCHIVE"),
            (b"\0" * (1024 * 1024 + 1), 413, "PAYLOAD_TOO_LARGE"),
        ]:
            async with http.post("/deploys", data=io.BytesIO(body)) as response:
                error = (await response.json())["error"]
                assert (response.status, error["code"]) == (status, code), error
        assert "max_deploy_mb" in error["hint"]
        as_plain = {"Authorization": f"Bearer {plain}"}
        async with http.post("/deploys", data=pack(hot(3), "integrations"), headers=as_plain) as response:
            error = (await response.json())["error"]
            assert (response.status, error["code"]) == (403, "DEPLOY_NOT_ALLOWED")
            assert error["hint"] == 'use a token whose scope has "deploy": true (POST /tokens with "deploy": true)'
        async with http.post("/tokens", json={"name": "x", "deploy": True}, headers=as_plain) as response:
            assert (await response.json())["error"]["code"] == "DEPLOY_NOT_ALLOWED"
        async with http.get("/deploys") as response:
            assert [v["number"] for v in await response.json()] == [1]
        assert await answers(http, 1)

        # code that does not import, sent past the CLI's check: stored, but no worker uses it
        broken = hot(4)
        with (broken / "integrations" / "hot.py").open("a") as module:
            module.write("\n\ndef broken(:\n    pass\n")
        async with http.post("/deploys", data=pack(broken, "integrations")) as response:
            assert (response.status, (await response.json())["number"]) == (201, 2)
        failure = "deployed version 2 does not load"
        await until(lambda: failure in serve.output(), "the failed load in the log")
        for _ in range(3):
            assert await answers(http, 1)
        assert serve.output().count(failure) == 1
        assert "runs go on with deployed version 1" in serve.output()
