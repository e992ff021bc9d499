"""``/state`` and ``/env`` over real HTTP: the four state scopes, who may read and write, and env values kept secret."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from tests.server.conftest import Server, add_connection, assert_error_body

from splice.store._state import connection_scope_id

JSON = {"Content-Type": "application/json"}


async def _status(client: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with client.request(method, path, json=body) as resp:
        return resp.status, (await resp.json() if resp.status != 204 else None)


async def test_global_state_round_trip(server: Server) -> None:
    client = server.client
    assert await _status(client, "GET", "/state/global") == (200, [])

    for key, value in (("plain", 1), ("cursors/contacts", {"page": 3}), ("nothing", None), ("words", "ab")):
        assert await _status(client, "PUT", f"/state/global/{key}", {"value": value}) == (
            200,
            {"key": key, "value": value},
        )
        assert await _status(client, "GET", f"/state/global/{key}") == (200, {"key": key, "value": value})
    assert await server.runtime.store.state.get("global", "", "cursors/contacts") == {"page": 3}

    assert await _status(client, "GET", "/state/global") == (200, ["cursors/contacts", "nothing", "plain", "words"])
    assert await _status(client, "GET", "/state/global?prefix=cursors/") == (200, ["cursors/contacts"])

    assert await _status(client, "DELETE", "/state/global/plain") == (204, None)
    for method in ("GET", "DELETE"):
        status, body = await _status(client, method, "/state/global/plain")
        assert status == 404
        assert_error_body(body, "NOT_FOUND")


async def test_each_scope_is_where_scripts_keep_it(server: Server) -> None:
    await add_connection(server, "c1")
    state = server.runtime.store.state
    await state.put("integration", "acme", "token_url", "x")
    await state.put("connection", connection_scope_id("acme", "c1"), "owner", "ann")
    await state.put("script", connection_scope_id("acme", "c1", "contacts"), "cursor", 7)
    await state.put("script", connection_scope_id("acme", "", "echo"), "seen", 2)

    client = server.client
    assert await _status(client, "GET", "/state/integrations/acme/token_url") == (
        200,
        {"key": "token_url", "value": "x"},
    )
    assert await _status(client, "GET", "/state/connections/acme/c1") == (200, ["owner"])
    assert await _status(client, "GET", "/state/scripts/acme/contacts/cursor?connection_id=c1") == (
        200,
        {"key": "cursor", "value": 7},
    )
    assert await _status(client, "GET", "/state/scripts/acme/echo") == (200, ["seen"])

    assert (await _status(client, "PUT", "/state/connections/acme/c1/owner", {"value": "bob"}))[0] == 200
    assert await state.get("connection", "acme/c1", "owner") == "bob"
    assert await _status(client, "DELETE", "/state/scripts/acme/contacts/cursor?connection_id=c1") == (204, None)
    assert await state.get("script", "acme/c1/contacts", "cursor") is None

    await server.runtime.connections.delete("acme", "c1")
    assert await state.keys("connection", "acme/c1") == []


async def test_unknown_owners_are_404(server: Server) -> None:
    await add_connection(server, "c1")
    for method, path in (
        ("GET", "/state/integrations/nope"),
        ("PUT", "/state/integrations/nope/k"),
        ("GET", "/state/connections/acme/c9"),
        ("PUT", "/state/connections/acme/c9/k"),
        ("GET", "/state/connections/nope/c1/k"),
        ("GET", "/state/scripts/acme/nope"),
        ("PUT", "/state/scripts/nope/echo/k"),
        ("PUT", "/state/scripts/acme/echo/k?connection_id=c9"),
    ):
        status, error = await _status(server.client, method, path, {"value": 1} if method == "PUT" else None)
        assert status == 404, (method, path)
        assert_error_body(error, "NOT_FOUND")
    assert await server.runtime.store.state.keys("connection", "acme/c9") == []


async def test_bad_state_input_is_422(server: Server) -> None:
    for data, status, code in (("{not json", 400, "INVALID_JSON"), ('{"value": 1', 400, "INVALID_JSON"),
                               ("", 422, "INVALID_INPUT")):  # fmt: skip
        async with server.client.put("/state/global/k", data=data, headers=JSON) as resp:
            assert resp.status == status, data
            assert_error_body(await resp.json(), code)
    for body in ([1], {"val": 1}, {"value": 1, "extra": 2}, "value", {"value": 2**70}):
        status, error = await _status(server.client, "PUT", "/state/global/k", body)
        assert status == 422, body
        assert_error_body(error, "INVALID_INPUT")
    for path in (f"/state/global/{'k' * 513}", f"/state/global?prefix={'p' * 513}"):
        status, error = await _status(server.client, "GET", path)
        assert status == 422
        assert_error_body(error, "INVALID_INPUT")
    async with server.client.put("/state/global/k", data='{"value": NaN}', headers=JSON) as resp:
        assert resp.status < 500
    assert await server.runtime.store.state.keys("global", "") in ([], ["k"])


async def test_state_follows_the_token_scope(server: Server) -> None:
    await add_connection(server, "c1")
    await add_connection(server, "c2")
    for cid in ("c1", "c2"):
        await server.runtime.store.state.put("connection", f"acme/{cid}", "k", cid)

    c1 = server.as_token(await server.token("c1", connections=["c1"]))
    assert await _status(c1, "GET", "/state/connections/acme/c1/k") == (200, {"key": "k", "value": "c1"})
    assert (await _status(c1, "PUT", "/state/connections/acme/c1/k", {"value": "new"}))[0] == 200
    for method, body in (("GET", None), ("PUT", {"value": "mine"}), ("DELETE", None)):
        status, error = await _status(c1, method, "/state/connections/acme/c2/k", body)
        assert status == 404
        assert "c2" in assert_error_body(error, "NOT_FOUND")["message"]
    assert await server.runtime.store.state.get("connection", "acme/c2", "k") == "c2"
    for path in ("/state/global", "/state/integrations/acme", "/state/scripts/acme/echo"):
        status, error = await _status(c1, "GET", path)
        assert status == 403, path
        assert_error_body(error, "FORBIDDEN")
    assert (await _status(c1, "GET", "/state/scripts/acme/echo?connection_id=c1"))[0] == 200

    other = server.as_token(await server.token("other", integrations=["other"]))
    status, error = await _status(other, "GET", "/state/integrations/acme")
    assert status == 404
    assert_error_body(error, "NOT_FOUND")
    assert (await _status(other, "GET", "/state/integrations/other"))[0] == 200


async def test_a_read_only_token_reads_state_but_cannot_change_it(server: Server) -> None:
    await add_connection(server, "c1")
    await server.runtime.store.state.put("global", "", "k", 1)
    reader = server.as_token(await server.token("reader", read_only=True))
    assert await _status(reader, "GET", "/state/global/k") == (200, {"key": "k", "value": 1})
    for method, path, body in (
        ("PUT", "/state/global/k", {"value": 2}),
        ("DELETE", "/state/global/k", None),
        ("PUT", "/state/integrations/acme/k", {"value": 2}),
        ("PUT", "/state/connections/acme/c1/k", {"value": 2}),
        ("DELETE", "/state/scripts/acme/echo/k?connection_id=c1", None),
    ):
        status, error = await _status(reader, method, path, body)
        assert status == 403, (method, path)
        assert_error_body(error, "FORBIDDEN")
    assert await server.runtime.store.state.get("global", "", "k") == 1


async def test_env_names_in_values_never_out(server: Server) -> None:
    client = server.client
    seen: list[str] = []

    async def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with client.request(method, path, json=body) as resp:
            text = await resp.text()
            seen.append(text + str(resp.headers))
            return resp.status, text

    assert await call("GET", "/env") == (200, "[]")
    assert await call("PUT", "/env/API_REGION", {"value": "eu-s3cret-1"}) == (204, "")
    assert await call("PUT", "/env/SHARED_KEY", {"value": "k3y-s3cret"}) == (204, "")
    assert await call("PUT", "/env/SHARED_KEY", {"value": "k3y-s3cret-2"}) == (204, "")
    assert await call("GET", "/env") == (200, '["API_REGION","SHARED_KEY"]')
    assert (await server.runtime.store.env.all())["SHARED_KEY"] == "k3y-s3cret-2"

    for body in ({"value": ["s3cret-in-a-list"]}, {"value": 42}, {"valu": "s3cret-typo"}, {"value": "x" * 65537}):
        status, text = await call("PUT", "/env/OTHER", body)
        assert status == 422
        assert_error_body(json.loads(text), "INVALID_INPUT")
    for name in ("lower", "1ABC", "WITH-DASH"):
        status, text = await call("PUT", f"/env/{name}", {"value": "s3cret"})
        assert status == 422, name
    async with client.put("/env/OK", data='{"value": "s3cret', headers=JSON) as resp:
        assert resp.status == 400
        seen.append(await resp.text())

    assert await call("DELETE", "/env/API_REGION") == (204, "")
    status, text = await call("DELETE", "/env/API_REGION")
    assert status == 404
    assert_error_body(json.loads(text), "NOT_FOUND")
    assert await server.runtime.env.names() == ["SHARED_KEY"]

    assert not [text for text in seen if "s3cret" in text]


async def test_env_needs_an_unlimited_token(server: Server) -> None:
    await server.runtime.env.set("API_REGION", "eu")
    reader = server.as_token(await server.token("reader", read_only=True))
    assert await _status(reader, "GET", "/env") == (200, ["API_REGION"])
    for method, body in (("PUT", {"value": "us"}), ("DELETE", None)):
        status, error = await _status(reader, method, "/env/API_REGION", body)
        assert status == 403
        assert_error_body(error, "FORBIDDEN")

    for scope in ({"integrations": ["acme"]}, {"connections": ["c1"]}):
        limited = server.as_token(await server.token("limited", **scope))
        for method, body in (("GET", None), ("PUT", {"value": "us"}), ("DELETE", None)):
            path = "/env" if method == "GET" else "/env/API_REGION"
            status, error = await _status(limited, method, path, body)
            assert status == 403, (scope, method)
            assert_error_body(error, "FORBIDDEN")
    assert (await server.runtime.store.env.all()) == {"API_REGION": "eu"}


async def test_state_and_env_need_a_valid_token(server: Server) -> None:
    token, secret = await server.runtime.store.tokens.create("gone")
    await server.runtime.store.tokens.revoke(token.id)
    for client in (server.as_token(None), server.as_token("not-a-token"), server.as_token(secret)):
        for method, path, body in (
            ("GET", "/state/global", None),
            ("PUT", "/state/global/k", {"value": 1}),
            ("GET", "/state/connections/acme/c1/k", None),
            ("GET", "/env", None),
            ("PUT", "/env/X", {"value": "v"}),
            ("DELETE", "/env/X", None),
        ):
            async with client.request(method, path, json=body) as resp:
                assert resp.status == 401, (method, path)
                assert resp.headers["WWW-Authenticate"] == "Bearer"
                assert_error_body(await resp.json(), "UNAUTHORIZED")
