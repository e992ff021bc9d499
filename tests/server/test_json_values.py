"""NaN and Infinity over real HTTP (issue 10, item 10): refused with 422 naming the field, never stored as null.

Python's JSON parser takes ``NaN``, ``Infinity`` and ``1e999`` (which overflows to Infinity);
JSON has no such numbers, and orjson, which the store writes with, would turn them into
``null`` without a word.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from tests.server.conftest import PROJECT, Server, StartServer, add_connection, assert_error_body

NUMBERS = (
    PROJECT
    + """

@acme.action
async def not_a_number(ctx, input):
    return {"ratio": float("nan")}


@acme.action
async def keep_nan(ctx, input):
    try:
        await ctx.state.put("ratio", {"value": float("inf")})
    except Exception as exc:
        return {"refused": type(exc).__name__, "message": str(exc)}
    return {"refused": None}


@acme.action
async def log_nan(ctx, input):
    ctx.log.info("ratio", ratio=float("nan"), worst=[float("-inf")])
    return None
"""
)
JSON = {"Content-Type": "application/json"}


async def _raw(client: aiohttp.ClientSession, method: str, path: str, text: str) -> tuple[int, Any]:
    async with client.request(method, path, data=text, headers=JSON) as response:
        return response.status, await response.json()


async def _get(client: aiohttp.ClientSession, path: str) -> tuple[int, Any]:
    async with client.get(path) as response:
        return response.status, await response.json()


def _refused(status: int, body: Any, field: str) -> None:
    assert status == 422, body
    error = assert_error_body(body, "INVALID_INPUT")
    assert error["details"]["field"] == field and field in error["message"], error


@pytest.fixture
async def served(start_server: StartServer) -> Server:
    server = await start_server(NUMBERS)
    await add_connection(server)
    return server


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"value": NaN}', "value"),
        ('{"value": [1, 1e999]}', "value[1]"),
        ('{"value": {"a": {"b": -Infinity}}}', "value.a.b"),
    ],
)
async def test_a_state_value_with_a_non_finite_number_is_422_and_not_stored(
    served: Server, text: str, field: str
) -> None:
    _refused(*await _raw(served.client, "PUT", "/state/global/n", text), field)
    assert await _get(served.client, "/state/global") == (200, [])


async def test_every_json_body_refuses_non_finite_numbers(served: Server) -> None:
    client = served.client
    for wait in ("true", "false"):
        body = f'{{"connection_id": "c1", "input": {{"text": "x", "n": NaN}}, "wait": {wait}}}'
        _refused(*await _raw(client, "POST", "/actions/acme/echo", body), "input.n")
    assert await _get(client, "/runs") == (200, [])

    new = '{"integration": "acme", "id": "c2", "credentials": {"api_key": "k"}, "config": {"rate": Infinity}}'
    _refused(*await _raw(client, "POST", "/connections", new), "config.rate")
    assert [c["id"] for c in (await _get(client, "/connections"))[1]] == ["c1"]

    for method in ("PUT", "PATCH"):
        _refused(*await _raw(client, method, "/connections/acme/c1/metadata", '{"score": 1e999}'), "metadata.score")
    assert await _get(client, "/connections/acme/c1/metadata") == (200, {})


async def test_a_script_cannot_store_non_finite_numbers_as_null(served: Server) -> None:
    client = served.client
    status, body = await _raw(client, "POST", "/actions/acme/not_a_number", '{"connection_id": "c1"}')
    assert status == 500 and body["error"]["code"] == "INVALID_OUTPUT" and "output.ratio" in body["error"]["message"]
    status, run = await _get(client, f"/runs/{body['error']['run_id']}")
    assert (run["status"], run["output"]) == ("failed", None)

    status, body = await _raw(client, "POST", "/actions/acme/keep_nan", '{"connection_id": "c1"}')
    assert status == 200 and body["output"]["refused"] == "InvalidInput" and "value.value" in body["output"]["message"]
    assert (await _get(client, "/state/scripts/acme/keep_nan/ratio?connection_id=c1"))[0] == 404

    status, body = await _raw(client, "POST", "/actions/acme/log_nan", '{"connection_id": "c1"}')
    status, logs = await _get(client, f"/logs?run_id={body['run_id']}")
    assert [line["fields"] for line in logs] == [{"ratio": "NaN", "worst": ["-Infinity"]}]
