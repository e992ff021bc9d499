"""NUL characters over real HTTP, on SQLite and PostgreSQL alike (issue 10, item 7).

PostgreSQL's text types cannot hold NUL, and its JSONB cannot hold ``\\u0000``: an id holding
one used to be a 500 there (a 404 or a stored row on SQLite), and a JSON value holding one
could not be stored at all. Now a NUL in an id is 422 naming the field on both, and text
inside JSON values and log lines reads back exactly as written.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from tests.server.conftest import PROJECT, Server, StartServer, add_connection, assert_error_body

#: the escape PostgreSQL storage uses (U+E000), alone and before "0", must read back as written too
TRICKY = ["x\x00y", "\x00", "\ue000", "\ue0000", "\ue000\ue000", "\x00\ue000\x00"]

HOOKED = (
    PROJECT
    + """

@acme.action
async def shout(ctx, input):
    ctx.log.info(input["text"], text=input["text"])
    await ctx.state.put("said", input)
    return input


@acme.trigger
async def hook(ctx, request):
    event = request.json()
    ctx.log.info("got", id=event["id"])
    return {"seen": event["id"]}
"""
)


async def _call(client: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with client.request(method, path, json=body) as response:
        return response.status, (await response.json() if response.status != 204 else None)


def _refused(status: int, body: Any, field: str) -> None:
    assert status == 422, body
    error = assert_error_body(body, "INVALID_INPUT")
    assert error["details"]["field"] == field and field in error["message"], error


@pytest.fixture
async def server(start_server_on: StartServer) -> Server:
    served = await start_server_on(HOOKED)
    await add_connection(served)
    return served


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/runs/run_%00", "run_id"),
        ("/runs?connection_id=c%001", "connection_id"),
        ("/connections/acme/c%001", "connection_id"),
        ("/connections/acme/c%001/metadata", "connection_id"),
        ("/records/acme/Contact?connection_id=c1&ids=a%00b", "ids"),
        ("/tokens/a%00", "token_id"),
        ("/state/global/a%00b", "key"),
        ("/logs?q=a%00", "q"),
        ("/integrations/ac%00me", "integration"),
    ],
)
async def test_a_nul_in_an_id_or_filter_is_422_naming_it(server: Server, path: str, field: str) -> None:
    _refused(*await _call(server.client, "GET", path), field)


async def test_a_nul_in_an_id_that_would_be_written_stores_nothing(server: Server) -> None:
    client = server.client
    _refused(*await _call(client, "PUT", "/state/global/a%00b", {"value": 1}), "key")
    assert await _call(client, "GET", "/state/global") == (200, [])

    for wait in (True, False):
        call = {"connection_id": "c\x001", "input": {"text": "hi"}, "wait": wait}
        _refused(*await _call(client, "POST", "/actions/acme/echo", call), "connection_id")
    assert await _call(client, "GET", "/runs") == (200, [])

    _refused(*await _call(client, "PUT", "/syncs/acme/contacts/c%001/schedule", {"every": "1h"}), "connection_id")
    new = {"integration": "acme", "id": "c\x002", "credentials": {"api_key": "k"}}
    _refused(*await _call(client, "POST", "/connections", new), "connection id")
    assert [c["id"] for c in (await _call(client, "GET", "/connections"))[1]] == ["c1"]


async def test_text_with_nul_in_json_values_reads_back_exactly(server: Server) -> None:
    client = server.client
    value = {"a\x00key": TRICKY, "nested": {"\ue000": "\x00"}}
    assert await _call(client, "PUT", "/state/global/k", {"value": value}) == (200, {"key": "k", "value": value})
    assert await _call(client, "GET", "/state/global/k") == (200, {"key": "k", "value": value})

    metadata = {"note": "a\x00b", "tricky": TRICKY}
    assert await _call(client, "PUT", "/connections/acme/c1/metadata", metadata) == (200, metadata)
    assert (await _call(client, "GET", "/connections/acme/c1"))[1]["metadata"] == metadata


@pytest.mark.parametrize("text", TRICKY)
async def test_a_run_with_nul_in_its_input_output_and_logs_reads_back_exactly(server: Server, text: str) -> None:
    client = server.client
    status, body = await _call(client, "POST", "/actions/acme/shout", {"connection_id": "c1", "input": {"text": text}})
    assert (status, body["output"]) == (200, {"text": text}), body

    status, run = await _call(client, "GET", f"/runs/{body['run_id']}")
    assert (status, run["input"], run["output"]) == (200, {"text": text}, {"text": text})
    status, listed = await _call(client, "GET", "/runs")
    assert [(r["input"], r["output"]) for r in listed] == [({"text": text}, {"text": text})]
    status, logs = await _call(client, "GET", f"/logs?run_id={body['run_id']}")
    assert [(line["message"], line["fields"]) for line in logs] == [(text, {"text": text})]
    assert await _call(client, "GET", "/state/scripts/acme/shout/said?connection_id=c1") == (
        200,
        {"key": "said", "value": {"text": text}},
    )


async def test_an_unauthenticated_webhook_with_nul_is_answered_and_its_run_stored(server: Server) -> None:
    body = json.dumps({"id": "n\x00ul"})  # the JSON text holds the escape \\u0000
    async with aiohttp.ClientSession(server.url) as anonymous, anonymous.post("/webhooks/acme/hook", data=body) as got:
        assert (got.status, await got.json()) == (200, {"seen": "n\x00ul"})

    status, runs = await _call(server.client, "GET", "/runs?script=hook")
    assert status == 200 and [r["status"] for r in runs] == ["succeeded"]
    assert json.loads(runs[0]["output"]["body"]) == {"seen": "n\x00ul"}
    assert (runs[0]["input"]["body"], runs[0]["input"]["json"]) == (body, {"id": "n\x00ul"})
    status, logs = await _call(server.client, "GET", f"/logs?run_id={runs[0]['id']}")
    assert [line["fields"] for line in logs] == [{"id": "n\x00ul"}]
