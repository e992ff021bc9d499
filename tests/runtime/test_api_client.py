"""``ctx.api`` against the demo API: options, retries, the 401 rule, errors, allowlist, logs."""

from __future__ import annotations

from typing import Any

from splice.demo.server import DemoAPI
from splice.runtime import Runtime


async def call(rt: Runtime, path: str, method: str = "GET", **options: Any) -> Any:
    run = await rt.run("acme.call", connection="c1", input={"path": path, "method": method, "options": options})
    assert run.status == "succeeded", run.error
    return run.output


async def call_error(rt: Runtime, path: str, method: str = "GET", **options: Any) -> dict[str, Any]:
    run = await rt.run("acme.call_error", connection="c1", input={"path": path, "method": method, "options": options})
    assert run.status == "succeeded", run.error
    return run.output


async def test_get_parses_json_and_injects_the_token(runtime: Runtime) -> None:
    out = await call(runtime, "/whoami")
    assert out == {"data": {"auth": "bearer", "principal": "demo-client"}, "type": "dict"}


async def test_methods_query_headers_and_json_body(runtime: Runtime) -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        out = await call(
            runtime, "/echo", method, data={"a": 1}, query={"x": "1", "tags": ["a", "b"]}, headers={"X-Trace": "t1"}
        )
        echo = out["data"]
        assert echo["method"] == method
        assert echo["json"] == {"a": 1}
        assert echo["query"] == {"x": "1", "tags": ["a", "b"]}
        assert echo["headers"]["x-trace"] == "t1"
        assert echo["headers"]["content-type"] == "application/json"


async def test_text_bytes_stream_and_full_response(runtime: Runtime) -> None:
    assert await call(runtime, "/text") == {"data": "hello from acme", "type": "str"}
    assert await call(runtime, "/bytes", query={"size": 3000}, response_type="bytes") == {"len": 3000, "type": "bytes"}
    assert await call(runtime, "/text", response_type="text") == {"data": "hello from acme", "type": "str"}
    streamed = await call(runtime, "/stream", query={"chunks": 5, "size": 1000}, response_type="stream")
    assert streamed == {"streamed": 5000}
    full = await call(runtime, "/whoami", return_full_response=True)
    assert full["status"] == 200
    assert full["content_type"].startswith("application/json")
    assert full["data"]["auth"] == "bearer"


async def test_401_refreshes_once_and_retries(runtime: Runtime, demo_api: DemoAPI) -> None:
    await call(runtime, "/whoami")
    fetched = demo_api.stats["token.client_credentials"]
    demo_api.expire_tokens()
    assert (await call(runtime, "/whoami"))["data"]["auth"] == "bearer"
    assert demo_api.stats["token.client_credentials"] == fetched + 1


async def test_401_after_refresh_is_access_token_expired(runtime: Runtime) -> None:
    out = await call_error(runtime, "/status/401")
    assert out["type"] == "AccessTokenExpired"
    assert out["code"] == "ACCESS_TOKEN_EXPIRED"
    assert out["status"] == 401


async def test_429_backs_off_honouring_retry_after(runtime: Runtime, demo_api: DemoAPI) -> None:
    out = await call(runtime, "/flaky", query={"key": "r1", "fail": 2, "status": 429, "retry_after": 0.05})
    assert out["data"] == {"ok": True, "attempts": 3}
    out = await call(runtime, "/flaky", query={"key": "r2", "fail": 1, "status": 429, "reset": 0.05})
    assert out["data"]["attempts"] == 2


async def test_429_beyond_the_budget_is_rate_limit_exceeded(runtime: Runtime) -> None:
    out = await call_error(runtime, "/flaky", query={"key": "r3", "fail": 100, "status": 429, "retry_after": 30})
    assert out["type"] == "RateLimitExceeded"
    assert out["code"] == "RATE_LIMIT_EXCEEDED"
    assert out["status"] == 429


async def test_5xx_is_retried_for_get_but_not_post(runtime: Runtime, demo_api: DemoAPI) -> None:
    out = await call(runtime, "/flaky", query={"key": "g", "fail": 2, "status": 503})
    assert out["data"]["attempts"] == 3
    out = await call_error(runtime, "/flaky", "POST", query={"key": "p", "fail": 1, "status": 503})
    assert (out["type"], out["status"]) == ("ConnectionError", 503)
    assert demo_api.stats["flaky.p"] == 1
    out = await call(runtime, "/flaky", "POST", query={"key": "p2", "fail": 1, "status": 500}, retries=2)
    assert out["data"]["attempts"] == 2


async def test_other_statuses_are_connection_errors_with_the_body(runtime: Runtime) -> None:
    out = await call_error(runtime, "/contacts", "POST", data={"email": "no-at-sign"})
    assert out["type"] == "ConnectionError"
    assert out["code"] == "CONNECTION_ERROR"
    assert out["status"] == 422
    assert out["data"]["field"] == "email"
    missing = await call_error(runtime, "/contacts/nope")
    assert missing["status"] == 404


async def test_hosts_outside_the_allowlist_are_refused(runtime: Runtime) -> None:
    out = await call_error(runtime, "http://example.com/steal")
    assert out["code"] == "HOST_NOT_ALLOWED"
    out = await call_error(runtime, "/whoami", base_uri="http://10.0.0.1/api")
    assert out["code"] == "HOST_NOT_ALLOWED"


async def test_basic_auth_option_overrides_the_scheme(runtime: Runtime) -> None:
    out = await call(runtime, "/whoami", auth=["demo-user", "demo-pass"])
    assert out["data"] == {"auth": "basic", "principal": "demo-user"}


async def test_requests_are_logged_without_secrets(runtime: Runtime) -> None:
    run = await runtime.run("keyed.whoami_key", connection="k1")
    assert run.status == "succeeded", run.error
    lines = await runtime.runs.logs(run_id=run.id)
    messages = [line.message for line in lines]
    assert messages[0] == "calling whoami"
    request_line = next(line for line in lines if line.fields.get("method") == "GET")
    assert request_line.fields["status"] == 200
    assert "api_key=%2A%2A%2A" in request_line.fields["url"] or "api_key=***" in request_line.fields["url"]
    assert all("demo-key" not in str(line.message) + str(line.fields) for line in lines)
    assert run.output == {"auth": "api_key", "principal": "***"}


async def test_bad_options_are_clear_errors(runtime: Runtime) -> None:
    out = await call_error(runtime, "/whoami", retries=99)
    assert out["code"] == "INVALID_INPUT"
    assert "retries must be a whole number" in out["message"]
    out = await call_error(runtime, "/whoami", response_type="xml")
    assert "response_type must be" in out["message"]
    out = await call_error(runtime, "/whoami", auth=["only-user"])
    assert "auth must be a (username, password) pair" in out["message"]


async def test_raise_for_status_false_returns_a_4xx_and_a_401_still_raises(runtime: Runtime) -> None:
    full = await call(runtime, "/status/404", raise_for_status=False, return_full_response=True)
    assert full["status"] == 404
    refused = await call(runtime, "/status/422", raise_for_status=False, return_full_response=True)
    assert refused["status"] == 422
    assert (await call_error(runtime, "/status/404"))["status"] == 404  # the default still raises
    assert (await call_error(runtime, "/status/401", raise_for_status=False))["code"] == "ACCESS_TOKEN_EXPIRED"
