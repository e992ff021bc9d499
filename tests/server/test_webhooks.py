"""``/webhooks/{integration}/{trigger}`` over a real server: no token, signatures, size limit, failures."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator

import aiohttp
import pytest
from tests.conftest import ProjectFactory

from splice.demo.server import DemoAPI
from splice.runtime import Runtime
from splice.server import ApiServer, create_app

HOOKS = """
from splice import Integration, auth
from splice.triggers import Header, HmacSignature, Response

acme = Integration("acme", base_url="{config.api_url}/api", auth=auth.ApiKey())


@acme.trigger(
    signature=HmacSignature(header="X-Sig", secret_env="ACME_HOOK_SECRET"), connection_from=Header("X-Account")
)
async def events(ctx, request):
    event = request.json()
    await ctx.state.put("last", event)
    return Response(status=202, body={"seen": event["id"], "connection": ctx.run.connection_id},
                    headers={"X-Handled": "yes"})


@acme.trigger
async def ack(ctx, request):
    return None


@acme.trigger
async def broken(ctx, request):
    raise RuntimeError("secret internals")
"""

SECRET = "hook-secret-value"


@pytest.fixture
async def url(make_project: ProjectFactory, demo_api: DemoAPI) -> AsyncIterator[str]:
    toml = '[project]\nname = "hooks"\n[runtime]\nmax_webhook_body_kb = 4\n'
    runtime = await Runtime.open(make_project({"acme.py": HOOKS}, toml=toml), isolation="none")
    await runtime.add_connection("acme", "c1", {"api_key": "k"}, config={"api_url": demo_api.url})
    await runtime.set_env("ACME_HOOK_SECRET", SECRET)
    server = ApiServer(create_app(runtime), port=0)
    serving = asyncio.create_task(server.run_forever())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event
        await asyncio.sleep(0.01)
    try:
        yield server.url
    finally:
        server.stop()
        await serving
        await runtime.close()


def signed(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


async def test_webhooks_need_no_token_and_answer_what_the_script_returns(url: str) -> None:
    body = b'{"id": "evt_1"}'
    async with aiohttp.ClientSession(url) as http:
        headers = {"X-Sig": signed(body), "X-Account": "c1", "Content-Type": "application/json"}
        async with http.post("/webhooks/acme/events", data=body, headers=headers) as response:
            assert response.status == 202 and response.headers["X-Handled"] == "yes"
            assert await response.json() == {"seen": "evt_1", "connection": "c1"}
        async with http.get("/webhooks/acme/ack?x=1") as response:
            assert response.status == 200 and await response.json() == {"ok": True}


async def test_bad_signatures_and_big_bodies_are_refused_before_any_run(url: str) -> None:
    body = b'{"id": "evt_2"}'
    async with aiohttp.ClientSession(url) as http:
        for sig in ("sha256=" + "0" * 64, None):
            headers = {"X-Account": "c1", **({"X-Sig": sig} if sig else {})}
            async with http.post("/webhooks/acme/events", data=body, headers=headers) as response:
                assert response.status == 401
                assert (await response.json())["error"]["code"] == "INVALID_SIGNATURE"
        async with http.post("/webhooks/acme/ack", data=b"x" * 5000) as response:
            assert response.status == 413
            assert (await response.json())["error"]["code"] == "PAYLOAD_TOO_LARGE"
        async with http.post("/webhooks/acme/nope", data=body) as response:
            assert response.status == 404


async def test_a_failing_trigger_answers_500_with_its_run_id_and_no_traceback(url: str) -> None:
    async with aiohttp.ClientSession(url) as http, http.post("/webhooks/acme/broken", data=b"{}") as response:
        text = await response.text()
        assert response.status == 500
    assert "Traceback" not in text and '"run_id"' in text
