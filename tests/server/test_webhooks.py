"""``/webhooks/{integration}/{trigger}`` over a real server: no token, signatures, size limit, failures,
tenant routing that cannot be swapped, and replays refused by every server sharing the database."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from tests._databases import make_database_url
from tests.conftest import ProjectFactory

from splice.demo.server import DemoAPI
from splice.errors import ProjectError
from splice.runtime import Runtime
from splice.server import ApiServer, create_app
from splice.store._state import connection_scope_id

HOOKS = """
from splice import Integration, auth
from splice.triggers import Header, HmacSignature, Response

acme = Integration("acme", base_url="{config.api_url}/api", auth=auth.ApiKey())


@acme.trigger(
    signature=HmacSignature(header="X-Sig", secret_env="ACME_HOOK_SECRET", signed_payload="{header:X-Account}|{body}"),
    connection_from=Header("X-Account"),
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


@acme.action
async def helper(ctx, input):
    return None
"""

SECRET = "hook-secret-value"


@contextlib.asynccontextmanager
async def serving(runtime: Runtime) -> AsyncIterator[str]:
    """Serve ``runtime`` on a free port of 127.0.0.1; yield its URL."""
    server = ApiServer(create_app(runtime), port=0)
    task = asyncio.create_task(server.run_forever())
    while not server.started:
        assert not task.done(), task
        await asyncio.sleep(0.01)
    try:
        yield server.url
    finally:
        server.stop()
        await task


@pytest.fixture
async def url(make_project: ProjectFactory, demo_api: DemoAPI) -> AsyncIterator[str]:
    toml = '[project]\nname = "hooks"\n[runtime]\nmax_webhook_body_kb = 4\n'
    runtime = await Runtime.open(make_project({"acme.py": HOOKS}, toml=toml), isolation="none")
    await runtime.connections.add("acme", "c1", {"api_key": "k"}, config={"api_url": demo_api.url})
    await runtime.env.set("ACME_HOOK_SECRET", SECRET)
    try:
        async with serving(runtime) as served:
            yield served
    finally:
        await runtime.close()


def signed(payload: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


async def test_webhooks_need_no_token_and_answer_what_the_script_returns(url: str) -> None:
    body = b'{"id": "evt_1"}'
    async with aiohttp.ClientSession(url) as http:
        headers = {"X-Sig": signed(b"c1|" + body), "X-Account": "c1", "Content-Type": "application/json"}
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


async def test_a_failing_trigger_s_error_carries_the_request_id_like_every_other(url: str) -> None:
    async with aiohttp.ClientSession(url) as http:
        async with http.post("/webhooks/acme/broken", data=b"{}", headers={"X-Request-Id": "hook-1"}) as response:
            error = (await response.json())["error"]
        assert response.status == 500 and response.headers["X-Request-Id"] == "hook-1"
        assert error["request_id"] == "hook-1" and error["run_id"].startswith("run")
        assert error["code"] == "SCRIPT_ERROR" and "secret internals" not in str(error)
        async with http.post("/webhooks/acme/broken", data=b"{}") as response:
            assert (await response.json())["error"]["request_id"] == response.headers["X-Request-Id"]


async def test_a_webhook_404_tells_an_unauthenticated_caller_nothing_of_the_project(url: str) -> None:
    """An unknown integration, an unknown script and a script that is no trigger answer alike."""
    answers = []
    async with aiohttp.ClientSession(url) as http:
        for path in ("/webhooks/nope/events", "/webhooks/acme/nope", "/webhooks/acme/helper"):
            async with http.post(path, data=b"{}", headers={"X-Request-Id": "same"}) as response:
                assert response.status == 404
                error = (await response.json())["error"]
            assert error["code"] == "NOT_FOUND" and error["request_id"] == "same"
            answers.append({**error, "message": error["message"].replace(path, "PATH")})
    assert answers[0] == answers[1] == answers[2] == {
        "code": "NOT_FOUND", "message": "no webhook at PATH", "details": {}, "request_id": "same"
    }  # fmt: skip


# --- the README's example: the header that picks the tenant must be signed --------------------

README_BEFORE = """
from splice import Integration, auth
from splice.triggers import Header, HmacSignature, Response

acme = Integration("acme", base_url="https://api.acme.test", auth=auth.ApiKey())

@acme.trigger(
    signature=HmacSignature(header="X-Acme-Signature", secret_env="ACME_WEBHOOK_SECRET"),
    connection_from=Header("X-Acme-Account"),      # or Body("account.id"), Query("account")
)
async def contact_events(ctx, request):
    event = request.json()
    await ctx.state.put(f"event:{event['id']}", event)
    return Response(status=202, body="queued")
"""

README_AFTER = """
from splice import Integration, auth
from splice.triggers import Header, HmacSignature, Response

acme = Integration("acme", base_url="https://api.acme.test", auth=auth.ApiKey())

@acme.trigger(
    signature=HmacSignature(
        header="X-Acme-Signature",
        secret_env="ACME_WEBHOOK_SECRET",
        timestamp_header="X-Acme-Timestamp",                          # refuses stale and replayed deliveries
        signed_payload="{header:X-Acme-Account}|{timestamp}.{body}",  # the tenant's id is signed
    ),
    connection_from=Header("X-Acme-Account"),       # or Body("account.id"), Query("account")
)
async def contact_events(ctx, request):
    event = request.json()
    await ctx.state.put(f"event:{event['id']}", event)
    return Response(status=202, body="queued")
"""

ACME_SECRET = "acme-webhook-secret"


def acme_delivery(account: str, body: bytes, stamp: str) -> dict[str, str]:
    """Headers of a delivery signed the way README_AFTER declares it."""
    payload = f"{account}|{stamp}.".encode() + body
    return {"X-Acme-Account": account, "X-Acme-Timestamp": stamp, "X-Acme-Signature": signed(payload, ACME_SECRET)}


async def test_a_signed_delivery_cannot_be_replayed_for_another_tenant(make_project: ProjectFactory) -> None:
    with pytest.raises(ProjectError) as info:
        await Runtime.open(make_project({"acme.py": README_BEFORE}), isolation="none")
    message = info.value.message
    assert "acme.contact_events takes its connection from the header X-Acme-Account" in message
    assert "another tenant" in message
    assert 'add signed_payload="{header:X-Acme-Account}|{body}" to its HmacSignature' in message
    assert 'Header("X-Acme-Account", trusted=True)' in message

    async with await Runtime.open(make_project({"acme.py": README_AFTER}), isolation="none") as rt:
        await rt.env.set("ACME_WEBHOOK_SECRET", ACME_SECRET)
        for tenant in ("c1", "c2", "c3"):
            await rt.connections.add("acme", tenant, {"api_key": f"key-{tenant}"})
        body = b'{"id": "evt_1", "type": "contact.created"}'
        headers = acme_delivery("c1", body, str(int(time.time())))
        async with serving(rt) as url, aiohttp.ClientSession(url) as http:
            async with http.post("/webhooks/acme/contact_events", data=body, headers=headers) as response:
                assert (response.status, await response.text()) == (202, "queued")
            for other in ("c2", "c3"):
                forged = {**headers, "X-Acme-Account": other}
                async with http.post("/webhooks/acme/contact_events", data=body, headers=forged) as response:
                    assert response.status == 401
                    assert (await response.json())["error"]["code"] == "INVALID_SIGNATURE"
        assert [r.connection_id for r in await rt.runs.find()] == ["c1"]
        for tenant, seen in (("c1", True), ("c2", False), ("c3", False)):
            scope_id = connection_scope_id("acme", tenant, "contact_events")
            assert (await rt.store.state.get("script", scope_id, "event:evt_1") is not None) is seen


# --- replays: refused by every server sharing the database ----------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def two_servers(
    request: pytest.FixtureRequest, make_project: ProjectFactory, tmp_path: Path
) -> AsyncIterator[tuple[Runtime, str, str]]:
    """Two servers, each with its own Runtime and engine, on one database; yields (runtime, url1, url2)."""
    database, cleanup = await make_database_url(str(request.param), tmp_path)
    root = make_project({"acme.py": README_AFTER})
    first = await Runtime.open(root, isolation="none", database_url=database)
    second = await Runtime.open(root, isolation="none", database_url=database)
    try:
        await first.env.set("ACME_WEBHOOK_SECRET", ACME_SECRET)
        await first.connections.add("acme", "c1", {"api_key": "key-c1"})
        async with serving(first) as one, serving(second) as two:
            yield first, one, two
    finally:
        await first.close()
        await second.close()
        await cleanup()


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict | str]:
    async with aiohttp.ClientSession(url) as http, http.post("/webhooks/acme/contact_events", data=body,
                                                             headers=headers) as response:  # fmt: skip
        text = await response.text()
        return response.status, (await response.json()) if response.status == 401 else text


async def test_a_replayed_delivery_is_refused_by_every_server(two_servers: tuple[Runtime, str, str]) -> None:
    rt, one, two = two_servers
    body = b'{"id": "evt_2"}'
    headers = acme_delivery("c1", body, str(int(time.time())))
    assert await _post(one, body, headers) == (202, "queued")
    for url in (one, two):
        status, answer = await _post(url, body, headers)
        assert status == 401, answer
        assert isinstance(answer, dict)
        error = answer["error"]
        assert error["code"] == "WEBHOOK_REPLAYED" and "replay_window=False" in error["hint"]
    assert len(await rt.runs.find()) == 1
    fresh = acme_delivery("c1", body, str(int(time.time()) + 1))  # the same event, signed anew
    assert await _post(two, body, fresh) == (202, "queued")
    assert len(await rt.runs.find()) == 2


async def test_copies_of_one_delivery_sent_at_once_run_once(two_servers: tuple[Runtime, str, str]) -> None:
    rt, one, two = two_servers
    body = b'{"id": "evt_3"}'
    headers = acme_delivery("c1", body, str(int(time.time())))
    answers = await asyncio.gather(*(_post(url, body, headers) for url in (one, two) * 4))
    assert sorted(status for status, _ in answers) == [202] + [401] * 7
    assert {a["error"]["code"] for s, a in answers if s == 401 and isinstance(a, dict)} == {"WEBHOOK_REPLAYED"}
    assert len(await rt.runs.find()) == 1
