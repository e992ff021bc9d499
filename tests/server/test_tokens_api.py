"""``/tokens`` over real HTTP: the secret shown once, scopes that hold, revocation, and who may manage tokens."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from tests.server.conftest import Server, add_connection, assert_error_body


async def _call(client: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with client.request(method, path, json=body) as resp:
        return resp.status, await resp.json()


async def test_create_shows_the_secret_once_and_it_works(server: Server) -> None:
    status, created = await _call(server.client, "POST", "/tokens", {"name": "ci", "read_only": True})
    assert status == 201
    secret = created["secret"]
    assert secret.startswith("splice_") and created["prefix"] == secret[:14]
    assert created["id"].startswith("tok_") and created["name"] == "ci"
    assert created["scope"] == {"read_only": True, "integrations": None, "connections": None, "deploy": False}
    assert created["revoked_at"] is None and created["last_used_at"] is None

    ci = server.as_token(secret)
    assert (await _call(ci, "GET", "/runs"))[0] == 200
    status, error = await _call(ci, "PUT", "/state/global/k", {"value": 1})
    assert status == 403
    assert_error_body(error, "FORBIDDEN")

    seen = []
    for path in ("/tokens", f"/tokens/{created['id']}", "/tokens?include_revoked=true"):
        async with server.client.get(path) as resp:
            assert resp.status == 200
            seen.append(await resp.text())
    async with server.client.delete(f"/tokens/{created['id']}") as resp:
        seen.append(await resp.text())
    assert all(secret not in text and secret[14:] not in text for text in seen)
    assert all('"secret"' not in text for text in seen)


async def test_list_get_and_revoke(server: Server) -> None:
    status, created = await _call(
        server.client, "POST", "/tokens", {"name": "tenant", "integrations": ["acme"], "connections": ["c1"]}
    )
    assert status == 201
    assert created["scope"] == {"read_only": False, "integrations": ["acme"], "connections": ["c1"], "deploy": False}

    status, listed = await _call(server.client, "GET", "/tokens")
    assert status == 200
    assert [t["name"] for t in listed] == ["full", "tenant"]
    assert listed[0]["last_used_at"] is not None  # the fixture's token, in use right now
    assert {k: v for k, v in created.items() if k != "secret"} == listed[1]

    status, revoked = await _call(server.client, "DELETE", f"/tokens/{created['id']}")
    assert status == 200 and revoked["id"] == created["id"] and revoked["revoked_at"]
    status, again = await _call(server.client, "DELETE", f"/tokens/{created['id']}")
    assert status == 200 and again["revoked_at"] == revoked["revoked_at"]
    assert await _call(server.client, "GET", f"/tokens/{created['id']}") == (200, revoked)

    assert [t["name"] for t in (await _call(server.client, "GET", "/tokens"))[1]] == ["full"]
    assert [t["name"] for t in (await _call(server.client, "GET", "/tokens?include_revoked=true"))[1]] == [
        "full",
        "tenant",
    ]

    async with server.as_token(created["secret"]).get("/runs") as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"] == "Bearer"
        assert_error_body(await resp.json(), "UNAUTHORIZED")


async def test_unknown_tokens_are_404(server: Server) -> None:
    for method in ("GET", "DELETE"):
        status, error = await _call(server.client, method, "/tokens/tok_000000000000")
        assert status == 404
        assert_error_body(error, "NOT_FOUND")


async def test_a_created_scope_holds(server: Server) -> None:
    await add_connection(server, "c1")
    await add_connection(server, "c2")
    run = await server.runtime.run("acme.echo", connection="c2", input={"text": "hi"})
    _, created = await _call(server.client, "POST", "/tokens", {"name": "c1 only", "connections": ["c1"]})
    tenant = server.as_token(created["secret"])

    async with tenant.get(f"/runs/{run.id}") as resp:
        assert resp.status == 404
    async with tenant.get("/connections/acme/c1") as resp:
        assert resp.status == 200


async def test_bad_token_bodies_are_422(server: Server) -> None:
    for data, status, code in (("{", 400, "INVALID_JSON"), ('{"name": "x",}', 400, "INVALID_JSON"),
                               ("null", 422, "INVALID_INPUT")):  # fmt: skip
        async with server.client.post("/tokens", data=data, headers={"Content-Type": "application/json"}) as resp:
            assert resp.status == status, data
            assert_error_body(await resp.json(), code)
    for body in (
        {},
        {"name": ""},
        {"name": 7},
        {"name": "x" * 129},
        {"name": "   "},
        {"name": "x", "read_only": "yes"},
        {"name": "x", "integrations": "acme"},
        {"name": "x", "integrations": []},
        {"name": "x", "connections": ["has space"]},
        {"name": "x", "scopes": ["full"]},
        ["x"],
    ):
        status, error = await _call(server.client, "POST", "/tokens", body)
        assert status == 422, body
        assert_error_body(error, "INVALID_INPUT")
    assert [t.name for t in await server.runtime.store.tokens.list()] == ["full"]


async def test_only_a_full_access_token_manages_tokens(server: Server) -> None:
    _, target = await _call(server.client, "POST", "/tokens", {"name": "target"})
    for scope in ({"read_only": True}, {"integrations": ["acme"]}, {"connections": ["c1"]}):
        limited = server.as_token(await server.token("limited", **scope))
        for method, path, body in (
            ("GET", "/tokens", None),
            ("POST", "/tokens", {"name": "wider"}),
            ("GET", f"/tokens/{target['id']}", None),
            ("DELETE", f"/tokens/{target['id']}", None),
        ):
            status, error = await _call(limited, method, path, body)
            assert status == 403, (scope, method, path)
            assert_error_body(error, "FORBIDDEN")
    names = [t.name for t in await server.runtime.store.tokens.list()]
    assert "wider" not in names and "target" in names


async def test_tokens_need_a_valid_token(server: Server) -> None:
    for client in (server.as_token(None), server.as_token("splice_" + "A" * 43)):
        for method, path, body in (
            ("GET", "/tokens", None),
            ("POST", "/tokens", {"name": "sneaky"}),
            ("DELETE", "/tokens/tok_000000000000", None),
        ):
            async with client.request(method, path, json=body) as resp:
                assert resp.status == 401
                assert resp.headers["WWW-Authenticate"] == "Bearer"
                body_text = await resp.text()
                assert_error_body(json.loads(body_text), "UNAUTHORIZED")
    assert [t.name for t in await server.runtime.store.tokens.list()] == ["full"]
