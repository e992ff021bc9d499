"""Webhook triggers through the runtime: answers, the request a script sees, signatures, routing, refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator

import orjson
import pytest
from tests.conftest import SPLICE_TOML, ProjectFactory

from splice.demo.server import DemoAPI
from splice.errors import InvalidInput, NotFound, SpliceError, Unauthorized
from splice.runtime import Runtime
from splice.triggers import WebhookRequest

SECRET = "whsec-0123456789"

SCRIPTS = """
import asyncio, base64, hashlib
from pydantic import BaseModel
from splice import ActionError, Integration, auth
from splice.triggers import Body, Header, HmacSignature, Query, Response

class Config(BaseModel):
    account: str = "?"

hooks = Integration("hooks", base_url="https://hooks.test", auth=auth.ApiKey(), config=Config)

@hooks.trigger
async def ack(ctx, request):
    ctx.log.info("got " + request.method)

@hooks.trigger
async def echo(ctx, request):
    try:
        parsed = request.json()
    except Exception as exc:
        parsed = {"error": type(exc).__name__, "code": getattr(exc, "code", None)}
    ctx.log.info("auth was " + request.headers.get("authorization", "-"))
    return {
        "method": request.method, "path": request.path, "event": request.headers.get("x-event"),
        "events": request.headers.getall("X-EVENT", []), "query": request.query,
        "body": base64.b64encode(request.body).decode(), "text": request.text, "json": parsed,
        "connection": ctx.run.connection_id, "authorization": request.headers.get("Authorization"),
    }

@hooks.trigger
async def custom(ctx, request):
    return Response(status=201, body=b"\\x00\\xffbin", content_type="application/x-thing",
                    headers={"X-Thing": "1", "Content-Length": "999"})

@hooks.trigger
async def text(ctx, request):
    return Response("queued", 202)

@hooks.trigger(signature=HmacSignature(secret_env="HOOK_SECRET"))
async def signed(ctx, request):
    return {"verified": True}

@hooks.trigger(signature=HmacSignature(header="X-Sig", prefix="", secret_env="HOOK_SECRET",
                                       timestamp_header="X-Timestamp", tolerance=60))
async def stamped(ctx, request):
    return {"verified": True}

@hooks.trigger(signature=HmacSignature(secret_env="NEVER_SET"))
async def unset(ctx, request):
    return {"verified": True}

async def whose(ctx, request):
    key = hashlib.sha256(ctx.credentials["api_key"].encode()).hexdigest()
    return {"connection": ctx.run.connection_id, "account": ctx.config["account"], "key": key}

hooks.trigger(name="by_header", connection_from=Header("X-Account-Id"),
              signature=HmacSignature(secret_env="HOOK_SECRET", signed_payload="{header:X-Account-Id}|{body}"))(whose)
hooks.trigger(name="by_body", connection_from=Body("account.id"),
              signature=HmacSignature(secret_env="HOOK_SECRET"))(whose)
hooks.trigger(name="by_query", connection_from=Query("account", trusted=True))(whose)
hooks.trigger(name="by_stamped_header", connection_from=Header("X-Account-Id"),
              signature=HmacSignature(secret_env="HOOK_SECRET", timestamp_header="X-Timestamp",
                                      signed_payload="{header:X-Account-Id}|{timestamp}.{body}"))(whose)

@hooks.trigger
async def crash(ctx, request):
    raise ValueError("the secret plan failed at step 7")

@hooks.trigger(time_limit=0.5)
async def slow(ctx, request):
    await asyncio.sleep(30)

@hooks.trigger
async def wrong(ctx, request):
    return "just a string"

@hooks.trigger
async def refuse(ctx, request):
    raise ActionError({"reason": "unknown event"}, status=422)

@hooks.trigger
async def strict(ctx, request):
    return request.json()

@hooks.action
async def act(ctx, input):
    return None
"""


@pytest.fixture(params=["process", "none"])
async def rt(request: pytest.FixtureRequest, make_project: ProjectFactory) -> AsyncIterator[Runtime]:
    root = make_project({"hooks.py": SCRIPTS}, toml=SPLICE_TOML + "max_webhook_body_kb = 4\n")
    runtime = await Runtime.open(root, isolation=request.param)
    await runtime.connections.add("hooks", "acct_1", {"api_key": "key-one-1111"}, config={"account": "one"})
    await runtime.connections.add("hooks", "acct_2", {"api_key": "key-two-2222"}, config={"account": "two"})
    await runtime.env.set("HOOK_SECRET", SECRET)
    yield runtime
    await runtime.close()


def post(
    body: bytes | dict | None = None, headers: list[tuple[str, str]] | None = None, **query: str
) -> WebhookRequest:
    raw = orjson.dumps(body) if isinstance(body, dict) else body or b""
    return WebhookRequest("POST", "/webhooks/hooks/x", headers or [], query, raw)


def sign(body: bytes, *, prefix: str = "sha256=", stamp: str | None = None, secret: str = SECRET) -> str:
    payload = f"{stamp}.".encode() + body if stamp is not None else body
    return prefix + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def signed_for(account: str, body: bytes = b"{}", stamp: str | None = None) -> WebhookRequest:
    """A request to the routed triggers, naming ``account`` in X-Account-Id and signed over it."""
    payload = f"{account}|".encode() + (f"{stamp}.".encode() if stamp is not None else b"") + body
    headers = [("X-Account-Id", account), ("X-Signature", sign(payload))]
    return post(body, headers + ([("X-Timestamp", stamp)] if stamp is not None else []))


def signed_body(body: bytes | dict) -> WebhookRequest:
    raw = orjson.dumps(body) if isinstance(body, dict) else body
    return post(raw, [("X-Signature", sign(raw))])


def error_of(body: bytes) -> dict:
    return orjson.loads(body)["error"]


# --- answers ----------------------------------------------------------------------------


async def test_none_answers_a_json_ack_and_the_run_is_stored(rt: Runtime) -> None:
    run, response = await rt.run_trigger("hooks", "ack", post(b"{}"))
    assert (response.status, response.body, response.content_type) == (200, b'{"ok":true}', "application/json")
    assert (run.kind, run.script, run.status, run.connection_id) == ("trigger", "ack", "succeeded", None)
    stored = await rt.runs.get(run.id)
    assert stored.output == response.to_json()
    assert stored.input["method"] == "POST" and stored.input["json"] == {}
    assert [line.message for line in await rt.runs.logs(run_id=run.id)] == ["got POST"]


async def test_the_script_sees_method_headers_query_and_body(rt: Runtime) -> None:
    headers = [("X-Event", "created"), ("x-event", "again"), ("Content-Type", "application/json")]
    request = WebhookRequest("PUT", "/webhooks/hooks/echo", headers, [("a", "1"), ("b", "2"), ("b", "3")],
                             b'{"id": 7, "name": "ada"}')  # fmt: skip
    run, response = await rt.run_trigger("hooks", "echo", request)
    assert response.status == 200 and response.content_type == "application/json"
    seen = orjson.loads(response.body)
    assert seen["method"] == "PUT" and seen["path"] == "/webhooks/hooks/echo"
    assert (seen["event"], seen["events"]) == ("created", ["created", "again"])
    assert seen["query"] == {"a": "1", "b": ["2", "3"]}
    assert base64.b64decode(seen["body"]) == b'{"id": 7, "name": "ada"}'
    assert seen["text"] == '{"id": 7, "name": "ada"}' and seen["json"] == {"id": 7, "name": "ada"}
    assert run.output["status"] == 200


async def test_a_binary_body_reaches_the_script_exactly_and_is_stored_as_base64(rt: Runtime) -> None:
    body = bytes(range(256))
    run, response = await rt.run_trigger("hooks", "echo", post(body, [("Content-Type", "application/octet-stream")]))
    seen = orjson.loads(response.body)
    assert base64.b64decode(seen["body"]) == body
    assert seen["json"] == {"error": "InvalidJson", "code": "INVALID_JSON"}
    stored = await rt.runs.get(run.id)
    assert stored.input["body_encoding"] == "base64" and base64.b64decode(stored.input["body"]) == body
    assert "json" not in stored.input


async def test_a_response_sets_status_headers_content_type_and_bytes(rt: Runtime) -> None:
    run, response = await rt.run_trigger("hooks", "custom", post())
    assert response.status == 201
    assert response.body == b"\x00\xffbin"
    assert response.content_type == "application/x-thing"
    assert response.headers == {"X-Thing": "1"}
    assert run.output["status"] == 201 and run.output["body_encoding"] == "base64"
    _, answer = await rt.run_trigger("hooks", "text", post())
    assert (answer.status, answer.body, answer.content_type) == (202, b"queued", "text/plain; charset=utf-8")


async def test_returning_something_else_fails_the_run_with_invalid_output(rt: Runtime) -> None:
    run, response = await rt.run_trigger("hooks", "wrong", post())
    assert run.status == "failed" and run.error["code"] == "INVALID_OUTPUT"
    assert response.status == 500
    assert error_of(response.body)["code"] == "INVALID_OUTPUT"


# --- failures ---------------------------------------------------------------------------


async def test_a_script_that_raises_answers_500_with_the_run_id_and_no_traceback(rt: Runtime) -> None:
    run, response = await rt.run_trigger("hooks", "crash", post(b"{}"))
    assert response.status == 500 and response.content_type == "application/json"
    error = error_of(response.body)
    assert error["code"] == "SCRIPT_ERROR" and error["run_id"] == run.id
    text = response.body.decode()
    assert "Traceback" not in text and "secret plan" not in text and "hooks.py" not in text
    stored = await rt.runs.get(run.id)
    assert stored.status == "failed"
    assert "in crash" in stored.error["details"]["traceback"]


async def test_a_script_past_its_time_limit_answers_504(rt: Runtime) -> None:
    started = time.monotonic()
    run, response = await rt.run_trigger("hooks", "slow", post())
    assert time.monotonic() - started < 10
    assert run.status == "timed_out"
    assert response.status == 504
    error = error_of(response.body)
    assert (error["code"], error["run_id"]) == ("TIME_LIMIT_EXCEEDED", run.id)
    assert "0.5s" in error["message"]


async def test_an_action_error_answers_its_status_and_payload(rt: Runtime) -> None:
    run, response = await rt.run_trigger("hooks", "refuse", post())
    assert response.status == 422
    error = error_of(response.body)
    assert error["details"] == {"payload": {"reason": "unknown event"}} and error["run_id"] == run.id


async def test_a_body_the_script_cannot_parse_answers_400(rt: Runtime) -> None:
    run, response = await rt.run_trigger("hooks", "strict", post(b"{not json"))
    assert run.status == "failed" and response.status == 400
    assert error_of(response.body)["code"] == "INVALID_JSON"
    assert "not valid JSON" in error_of(response.body)["message"]


async def test_an_oversized_body_is_refused_before_any_run(rt: Runtime) -> None:
    body = b"x" * (4 * 1024 + 1)
    with pytest.raises(InvalidInput) as info:
        await rt.run_trigger("hooks", "signed", post(body, [("X-Signature", "sha256=bad")]))
    assert info.value.code == "PAYLOAD_TOO_LARGE"
    assert info.value.details == {"size": 4097, "limit": 4096}
    assert await rt.runs.find() == []
    run, _ = await rt.run_trigger("hooks", "ack", post(b"x" * 4096))
    assert run.status == "succeeded"


async def test_only_triggers_answer_webhooks(rt: Runtime) -> None:
    with pytest.raises(NotFound, match="not a trigger"):
        await rt.run_trigger("hooks", "act", post())
    with pytest.raises(NotFound):
        await rt.run_trigger("hooks", "nope", post())
    with pytest.raises(InvalidInput, match="is a trigger"):
        await rt.run("hooks.ack")
    assert await rt.runs.find() == []


# --- signatures -------------------------------------------------------------------------


async def test_a_valid_signature_runs_the_trigger(rt: Runtime) -> None:
    body = b'{"event": "paid"}'
    run, response = await rt.run_trigger("hooks", "signed", post(body, [("X-Signature", sign(body))]))
    assert run.status == "succeeded" and orjson.loads(response.body) == {"verified": True}


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Signature", sign(b"something else"))],
        [("X-Signature", sign(b'{"event": "paid"}', secret="another-secret"))],
        [("X-Signature", sign(b'{"event": "paid"}', prefix="sha1="))],
        [("X-Signature", "sha256=")],
        [],
    ],
    ids=["other-body", "other-secret", "wrong-prefix", "empty", "missing-header"],
)
async def test_a_bad_or_missing_signature_is_refused_without_a_run(rt: Runtime, headers: list) -> None:
    with pytest.raises(Unauthorized) as info:
        await rt.run_trigger("hooks", "signed", post(b'{"event": "paid"}', headers))
    assert info.value.code == "INVALID_SIGNATURE"
    assert await rt.runs.find() == []


async def test_a_timestamped_signature_within_tolerance_is_accepted(rt: Runtime) -> None:
    body = b"payload"
    stamp = str(int(time.time()))
    headers = [("X-Sig", sign(body, prefix="", stamp=stamp)), ("X-Timestamp", stamp)]
    run, _ = await rt.run_trigger("hooks", "stamped", post(body, headers))
    assert run.status == "succeeded"


@pytest.mark.parametrize("age", [120, -120])
async def test_a_stale_or_future_timestamp_is_refused(rt: Runtime, age: int) -> None:
    body = b"payload"
    stamp = str(int(time.time()) - age)
    headers = [("X-Sig", sign(body, prefix="", stamp=stamp)), ("X-Timestamp", stamp)]
    with pytest.raises(Unauthorized, match="60s from now"):
        await rt.run_trigger("hooks", "stamped", post(body, headers))
    with pytest.raises(Unauthorized, match="no X-Timestamp"):
        await rt.run_trigger("hooks", "stamped", post(body, headers[:1]))
    assert await rt.runs.find() == []


async def test_a_missing_secret_is_a_server_error_not_the_callers(rt: Runtime) -> None:
    with pytest.raises(SpliceError) as info:
        await rt.run_trigger("hooks", "unset", post(b"{}", [("X-Signature", sign(b"{}"))]))
    assert not isinstance(info.value, Unauthorized)
    assert info.value.code == "WEBHOOK_SECRET_MISSING"
    assert "NEVER_SET" in info.value.message and "splice env set NEVER_SET" in (info.value.hint or "")
    assert await rt.runs.find() == []


# --- routing to a connection -------------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "request_for"),
    [
        ("by_header", signed_for),
        ("by_body", lambda account: signed_body({"account": {"id": account}})),
        ("by_query", lambda account: post(b"", account=account)),
        ("by_stamped_header", lambda account: signed_for(account, stamp=str(int(time.time())))),
    ],
)
async def test_routing_runs_for_the_named_connection(rt: Runtime, trigger: str, request_for) -> None:
    for account, name in (("acct_1", "one"), ("acct_2", "two")):
        run, response = await rt.run_trigger("hooks", trigger, request_for(account))
        assert run.connection_id == account
        key = hashlib.sha256(f"key-{name}-{'1111' if name == 'one' else '2222'}".encode()).hexdigest()
        assert orjson.loads(response.body) == {"connection": account, "account": name, "key": key}


async def test_an_unknown_or_missing_routing_value_is_refused(rt: Runtime) -> None:
    with pytest.raises(NotFound, match="no hooks connection 'acct_9'"):
        await rt.run_trigger("hooks", "by_header", signed_for("acct_9"))
    with pytest.raises(InvalidInput) as info:
        await rt.run_trigger("hooks", "by_header", post(b"{}", [("X-Signature", sign(b"|{}"))]))
    assert info.value.code == "ROUTING_VALUE_MISSING" and "X-Account-Id" in info.value.message
    with pytest.raises(InvalidInput) as info:
        await rt.run_trigger("hooks", "by_body", signed_body({"account": {"name": "x"}}))
    assert info.value.code == "ROUTING_VALUE_MISSING"
    with pytest.raises(InvalidInput) as info:
        await rt.run_trigger("hooks", "by_body", signed_body(b"not json"))
    assert info.value.code == "INVALID_JSON"
    assert await rt.runs.find() == []


async def test_a_routing_value_the_signature_signs_cannot_be_swapped(rt: Runtime) -> None:
    for trigger, stamp in (("by_header", None), ("by_stamped_header", str(int(time.time())))):
        delivery = signed_for("acct_1", stamp=stamp)
        swapped = [("X-Account-Id", "acct_2") if k == "X-Account-Id" else (k, v) for k, v in delivery.headers.items()]
        with pytest.raises(Unauthorized) as info:
            await rt.run_trigger("hooks", trigger, post(delivery.body, swapped))
        assert info.value.code == "INVALID_SIGNATURE"
    assert await rt.runs.find() == []


# --- replays ------------------------------------------------------------------------------


async def test_a_timestamped_delivery_is_accepted_once(rt: Runtime) -> None:
    delivery = signed_for("acct_1", stamp=str(int(time.time())))
    run, _ = await rt.run_trigger("hooks", "by_stamped_header", delivery)
    assert (run.status, run.connection_id) == ("succeeded", "acct_1")
    with pytest.raises(Unauthorized) as info:
        await rt.run_trigger("hooks", "by_stamped_header", delivery)
    assert info.value.code == "WEBHOOK_REPLAYED"
    assert "already delivered to hooks.by_stamped_header" in info.value.message
    assert "replay_window=False" in (info.value.hint or "")
    assert [r.id for r in await rt.runs.find()] == [run.id]


async def test_a_delivery_refused_before_it_ran_is_not_remembered(rt: Runtime) -> None:
    delivery = signed_for("acct_3", stamp=str(int(time.time())))
    with pytest.raises(NotFound):
        await rt.run_trigger("hooks", "by_stamped_header", delivery)
    await rt.connections.add("hooks", "acct_3", {"api_key": "key-three-3333"}, config={"account": "three"})
    run, _ = await rt.run_trigger("hooks", "by_stamped_header", delivery)
    assert (run.status, run.connection_id) == ("succeeded", "acct_3")


async def test_signatures_without_a_timestamp_are_not_remembered(rt: Runtime) -> None:
    delivery = signed_for("acct_1")
    first, _ = await rt.run_trigger("hooks", "by_header", delivery)
    second, _ = await rt.run_trigger("hooks", "by_header", delivery)
    assert (first.status, second.status) == ("succeeded", "succeeded")


# --- secrets ----------------------------------------------------------------------------


async def test_secret_headers_and_query_values_are_masked_in_the_stored_run(rt: Runtime) -> None:
    body = b'{"event": "paid"}'
    headers = [
        ("X-Signature", sign(body)),
        ("Authorization", "Bearer tok-abcdef123456"),
        ("Cookie", "session=cookie-value-987"),
        ("X-Api-Token", "token-value-555"),
        ("X-Event", "paid"),
    ]
    request = WebhookRequest("POST", "/webhooks/hooks/echo", headers, {"token": "query-secret-1", "a": "1"}, body)
    run, response = await rt.run_trigger("hooks", "echo", request)
    stored = await rt.runs.get(run.id)
    assert stored.input["headers"] == {
        "x-signature": "***",
        "authorization": "***",
        "cookie": "***",
        "x-api-token": "***",
        "x-event": "paid",
    }
    assert stored.input["query"] == {"token": "***", "a": "1"}
    assert stored.input["json"] == {"event": "paid"}
    everything = str(stored.input) + str(stored.output) + response.body.decode()
    lines = await rt.runs.logs(run_id=run.id)
    everything += " ".join(line.message for line in lines)
    for secret in ("tok-abcdef123456", "cookie-value-987", "token-value-555", "query-secret-1", sign(body)):
        assert secret not in everything
    assert orjson.loads(response.body)["authorization"] == "***"
    assert lines[0].message == "auth was ***"


# --- a trigger that calls the connection's API -------------------------------------------

DEMO = """
from splice import Integration, auth
from splice.triggers import Header

acme = Integration(
    "acme",
    base_url="{config.api_url}/api",
    auth=auth.OAuth2ClientCredentials(token_url="{config.api_url}/oauth/token", scopes=["crm"]),
)

@acme.trigger(connection_from=Header("X-Acme-Account", trusted=True))
async def contact_events(ctx, request):
    me = await ctx.api.get("/whoami")
    return {"event": request.json()["type"], "me": me}
"""


@pytest.mark.parametrize("isolation", ["process", "none"])
async def test_a_trigger_calls_its_connections_api(
    make_project: ProjectFactory, demo_api: DemoAPI, isolation: str
) -> None:
    async with await Runtime.open(make_project({"acme.py": DEMO}), isolation=isolation) as rt:
        credentials = {"client_id": "demo-client", "client_secret": "demo-secret"}
        await rt.connections.add("acme", "c1", credentials, config={"api_url": demo_api.url})
        request = post({"type": "contact.created"}, [("X-Acme-Account", "c1")])
        run, response = await rt.run_trigger("acme", "contact_events", request)
        assert run.status == "succeeded", run.error
        answer = orjson.loads(response.body)
        assert answer["event"] == "contact.created" and answer["me"]
        lines = await rt.runs.logs(run_id=run.id)
        assert any("/whoami" in line.message for line in lines)
