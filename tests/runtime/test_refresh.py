"""Token refresh: once per connection across runtimes sharing a store; failures marked."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from tests._databases import make_database_url
from tests.conftest import ProjectFactory

from splice.auth._base import drive
from splice.demo.server import DemoAPI
from splice.runtime import Runtime

OAUTH = """
from splice import Integration, auth

acme = Integration(
    "acme", base_url="{config.api_url}/api",
    auth=auth.OAuth2AuthorizationCode(
        authorize_url="{config.api_url}/oauth/authorize", token_url="{config.api_url}/oauth/token", scopes=["crm"]
    ),
)

@acme.action
async def whoami(ctx, input):
    return await ctx.api.get("/whoami")
"""
CLIENT = {"client_id": "demo-client", "client_secret": "demo-secret"}


async def authorize(rt: Runtime, api_url: str) -> dict[str, object]:
    scheme = rt.project.integration("acme").auth.resolve({"api_url": api_url}, CLIENT)
    url, verifier = scheme.authorization_url(CLIENT, "http://127.0.0.1/cb", "s1")
    async with aiohttp.ClientSession() as session, session.get(url, allow_redirects=False) as response:
        code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
    return await drive(
        scheme.exchange_code_flow(CLIENT, code, "http://127.0.0.1/cb", verifier, time.time()),
        rt.apis.send_token_request,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def two_runtimes(
    request: pytest.FixtureRequest, make_project: ProjectFactory, demo_api: DemoAPI, tmp_path: Path
) -> AsyncIterator[tuple[Runtime, Runtime]]:
    url, cleanup = await make_database_url(request.param, tmp_path)
    root = make_project({"acme.py": OAUTH})
    first = await Runtime.open(root, database_url=url)
    second = await Runtime.open(root, database_url=url, isolation="none")
    tokens = await authorize(first, demo_api.url)
    await first.connections.add(
        "acme", "c1", {**CLIENT, **tokens, "expires_at": time.time() - 10}, config={"api_url": demo_api.url}
    )
    yield first, second
    await first.close()
    await second.close()
    await cleanup()


async def test_concurrent_runs_refresh_exactly_once(two_runtimes: tuple[Runtime, Runtime], demo_api: DemoAPI) -> None:
    first, second = two_runtimes
    runs = await asyncio.gather(*(rt.run("acme.whoami", connection="c1") for rt in (first, second) * 4))
    assert [r.status for r in runs] == ["succeeded"] * 8, [r.error for r in runs]
    assert demo_api.stats["token.refresh_token"] == 1
    assert demo_api.stats.get("token.refresh_reused", 0) == 0
    stored = (await first.connections.get("acme", "c1")).credentials
    assert stored["expires_at"] > time.time()


async def test_401_with_rotating_refresh_tokens(two_runtimes: tuple[Runtime, Runtime], demo_api: DemoAPI) -> None:
    first, second = two_runtimes
    assert (await first.run("acme.whoami", connection="c1")).status == "succeeded"
    demo_api.expire_tokens()
    runs = await asyncio.gather(*(rt.run("acme.whoami", connection="c1") for rt in (first, second) * 3))
    assert all(r.status == "succeeded" for r in runs), [r.error for r in runs]
    assert demo_api.stats["token.refresh_token"] == 2
    assert (await second.connections.get("acme", "c1")).status == "ok"


async def test_rejected_refresh_marks_the_connection(two_runtimes: tuple[Runtime, Runtime], demo_api: DemoAPI) -> None:
    first, _ = two_runtimes
    before = (await first.connections.get("acme", "c1")).credentials
    async with aiohttp.ClientSession() as session:
        await session.post(demo_api.url + "/admin/token-failures", json={"mode": "400", "count": 1})
    run = await first.run("acme.whoami", connection="c1")
    assert run.status == "failed"
    assert run.error["code"] == "REFRESH_FAILED"
    assert "invalid_grant" in run.error["message"]
    conn = await first.connections.get("acme", "c1")
    assert conn.status == "error"
    assert conn.credentials == before
    again = await first.run("acme.whoami", connection="c1")
    assert again.error["code"] == "CONNECTION_BROKEN"
    assert "invalid_grant" in again.error["message"]
    assert before["client_secret"] not in str(run.error) + str(again.error)


@pytest.mark.parametrize("mode", ["500", "garbage"])
async def test_token_endpoint_failures_are_clear(
    two_runtimes: tuple[Runtime, Runtime], demo_api: DemoAPI, mode: str
) -> None:
    first, _ = two_runtimes
    async with aiohttp.ClientSession() as session:
        await session.post(demo_api.url + "/admin/token-failures", json={"mode": mode, "count": 1})
    run = await first.run("acme.whoami", connection="c1")
    assert run.error["code"] == "REFRESH_FAILED"
    expected = "HTTP 500" if mode == "500" else "invalid response"
    assert expected in run.error["message"]
    status = (await first.connections.get("acme", "c1")).status
    assert status == ("ok" if mode == "500" else "error")


async def test_two_worker_processes_refresh_once(make_project: ProjectFactory, demo_api: DemoAPI) -> None:
    """Four real ``splice run`` processes start on an expired token at once: one refresh."""
    root = make_project({"acme.py": OAUTH})
    async with await Runtime.open(root) as rt:
        tokens = await authorize(rt, demo_api.url)
        await rt.connections.add(
            "acme", "c1", {**CLIENT, **tokens, "expires_at": time.time() - 10}, config={"api_url": demo_api.url}
        )
    splice = Path(sys.executable).parent / "splice"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPLICE_")}
    procs = [
        await asyncio.create_subprocess_exec(
            str(splice),
            "run",
            "acme.whoami",
            "-c",
            "c1",
            "-q",
            cwd=root,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(4)
    ]
    results = [await asyncio.wait_for(p.communicate(), 60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, results
    assert all(b'"auth": "bearer"' in out for out, _ in results)
    assert demo_api.stats["token.refresh_token"] == 1
    assert demo_api.stats.get("token.refresh_reused", 0) == 0
