"""Size limits over real HTTP (issue 10, items 8 and 9): request bodies, run inputs, state values,
large fields in lists, and schedule intervals.

Small limits are configured so the tests send kilobytes, not megabytes: what matters is what
the caller gets back and that nothing was stored.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from tests.server.conftest import PROJECT, Server, StartServer, add_connection, assert_error_body

from splice.errors import InvalidInput

LIMITED = (
    PROJECT
    + """

@acme.action
async def keep(ctx, input):
    await ctx.state.put("kept", input)
    return {"kept": True}


@acme.trigger
async def hook(ctx, request):
    return {"bytes": len(request.body)}
"""
)
TOML = """\
[project]
name = "limits"

[runtime]
time_limit = 20
max_input_kb = 8
max_state_kb = 4
max_webhook_body_kb = 32

[server]
max_body_kb = 16
"""


async def _call(client: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with client.request(method, path, json=body) as response:
        return response.status, (await response.json() if response.status != 204 else None)


def _compact(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")))


@pytest.fixture
async def limited(start_server: StartServer) -> Server:
    served = await start_server(LIMITED, TOML)
    await add_connection(served)
    return served


async def test_a_body_over_max_body_kb_is_413_and_nothing_is_stored(limited: Server) -> None:
    client = limited.client
    for method, path, body in (
        ("PUT", "/state/global/big", {"value": "x" * 20_000}),
        ("POST", "/actions/acme/echo", {"connection_id": "c1", "input": {"text": "x" * 20_000}}),
        ("PATCH", "/connections/acme/c1/metadata", {"big": "x" * 20_000}),
    ):
        async with client.request(method, path, json=body) as response:
            assert response.status == 413, path
            error = assert_error_body(await response.json(), "PAYLOAD_TOO_LARGE")
            assert error["details"] == {"limit_bytes": 16 * 1024} and "max_body_kb" in error["hint"]
            assert response.headers["X-Request-Id"] == error["request_id"]
    assert (await _call(client, "GET", "/state/global/big"))[0] == 404
    assert await _call(client, "GET", "/runs") == (200, [])
    assert await _call(client, "GET", "/connections/acme/c1/metadata") == (200, {})


async def test_a_chunked_body_is_counted_as_it_arrives(limited: Server) -> None:
    async def chunks(total: int) -> AsyncIterator[bytes]:
        text = json.dumps({"value": "x" * total}).encode()
        for start in range(0, len(text), 4096):
            yield text[start : start + 4096]

    headers = {"Content-Type": "application/json"}
    async with limited.client.put("/state/global/big", data=chunks(20_000), headers=headers) as response:
        assert response.status == 413
        assert_error_body(await response.json(), "PAYLOAD_TOO_LARGE")
    assert (await _call(limited.client, "GET", "/state/global/big"))[0] == 404
    async with limited.client.put("/state/global/small", data=chunks(1_000), headers=headers) as response:
        assert response.status == 200 and (await response.json())["value"] == "x" * 1_000


async def test_webhooks_keep_their_own_limit(limited: Server) -> None:
    async with aiohttp.ClientSession(limited.url) as anonymous:
        async with anonymous.post("/webhooks/acme/hook", data=b"x" * 24_000) as response:
            assert (response.status, await response.json()) == (200, {"bytes": 24_000})
        async with anonymous.post("/webhooks/acme/hook", data=b"x" * 40_000) as response:
            assert response.status == 413
            assert_error_body(await response.json(), "PAYLOAD_TOO_LARGE")


async def test_an_input_over_max_input_kb_is_refused_before_any_run_is_stored(limited: Server) -> None:
    big = {"text": "x" * 10_000}
    for wait in (True, False):
        status, body = await _call(
            limited.client, "POST", "/actions/acme/echo", {"connection_id": "c1", "input": big, "wait": wait}
        )
        assert status == 422
        error = assert_error_body(body, "INPUT_TOO_LARGE")
        assert error["details"] == {"field": "input", "bytes": _compact(big), "limit_bytes": 8 * 1024}
    assert await _call(limited.client, "GET", "/runs") == (200, [])

    runtime = limited.runtime
    for start in (runtime.run, runtime.enqueue):
        with pytest.raises(InvalidInput) as refused:
            await start("acme.echo", connection="c1", input=big)
        assert refused.value.code == "INPUT_TOO_LARGE"
    assert await runtime.runs.find() == []


async def test_a_state_value_over_max_state_kb_is_refused_and_not_stored(limited: Server) -> None:
    client = limited.client
    status, body = await _call(client, "PUT", "/state/global/big", {"value": "x" * 6_000})
    assert status == 422
    error = assert_error_body(body, "STATE_TOO_LARGE")
    assert error["details"] == {"field": "value", "bytes": 6_002, "limit_bytes": 4 * 1024}
    assert (await _call(client, "GET", "/state/global/big"))[0] == 404

    status, body = await _call(client, "POST", "/actions/acme/keep", {"connection_id": "c1", "input": "y" * 6_000})
    assert status == 500 and body["error"]["code"] == "STATE_TOO_LARGE" and body["error"]["run_id"]
    assert (await _call(client, "GET", "/state/scripts/acme/keep/kept?connection_id=c1"))[0] == 404
    status, run = await _call(client, "GET", f"/runs/{body['error']['run_id']}")
    assert (run["status"], run["error"]["code"]) == ("failed", "STATE_TOO_LARGE")


async def test_lists_carry_a_marker_for_large_fields_and_the_full_value_in_its_own_get(server: Server) -> None:
    await add_connection(server)
    client = server.client
    small = {"text": "hi"}
    large = {"text": "x" * 5_000}
    marker = {"_truncated": True, "bytes": _compact(large)}
    status, body = await _call(client, "POST", "/actions/acme/echo", {"connection_id": "c1", "input": large})
    assert status == 200 and body["output"] == large
    assert (await _call(client, "POST", "/actions/acme/echo", {"connection_id": "c1", "input": small}))[0] == 200

    status, runs = await _call(client, "GET", "/runs")
    assert [(r["input"], r["output"]) for r in runs] == [(small, small), (marker, marker)]
    status, run = await _call(client, "GET", f"/runs/{body['run_id']}")
    assert (run["input"], run["output"]) == (large, large)

    status, logs = await _call(client, "GET", f"/logs?run_id={body['run_id']}")
    assert [line["fields"] for line in logs] == [marker]
    async with client.get(f"/logs/export?run_id={body['run_id']}") as response:
        assert [json.loads(line)["fields"] for line in (await response.text()).splitlines()] == [large]

    metadata = {"notes": "y" * 5_000}
    assert (await _call(client, "PUT", "/connections/acme/c1/metadata", metadata))[0] == 200
    status, listed = await _call(client, "GET", "/connections")
    assert listed[0]["metadata"] == {"_truncated": True, "bytes": _compact(metadata)}
    assert listed[0]["config"] == {"api_url": server.api_url}
    assert (await _call(client, "GET", "/connections/acme/c1"))[1]["metadata"] == metadata


@pytest.mark.parametrize("every", ["99999999999999d", "9" * 5_000 + "s", "32d", "29s"])
async def test_a_schedule_interval_outside_30s_to_31d_is_422_and_changes_nothing(server: Server, every: str) -> None:
    await add_connection(server)
    client = server.client
    status, body = await _call(client, "PUT", "/syncs/acme/contacts/c1/schedule", {"every": every})
    assert status == 422
    error = assert_error_body(body, "INVALID_SCHEDULE")
    assert "30s" in error["message"] and "31d" in error["message"]
    status, sync = await _call(client, "GET", "/syncs/acme/contacts/c1")
    assert (sync["schedule"], sync["overridden"]) == ("every 1h", False)
