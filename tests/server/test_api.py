"""The REST API over a real server: auth, connections, actions, syncs, records, errors, OpenAPI."""

from __future__ import annotations

import asyncio

from tests.server.conftest import Server, add_connection, assert_error_body


async def test_every_endpoint_needs_a_valid_token(server: Server) -> None:
    for secret in (None, "splice_nope", "not even a token"):
        async with server.as_token(secret).get("/connections") as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert_error_body(await response.json(), "UNAUTHORIZED")
    token, secret = await server.runtime.store.tokens.create("soon revoked")
    async with server.as_token(secret).get("/integrations") as response:
        assert response.status == 200
    await server.runtime.store.tokens.revoke(token.id)
    async with server.as_token(secret).get("/integrations") as response:
        assert response.status == 401


async def test_errors_are_one_envelope_with_a_request_id(server: Server) -> None:
    async with server.client.get("/nowhere", headers={"X-Request-Id": "my-id-1"}) as response:
        assert response.status == 404 and response.headers["X-Request-Id"] == "my-id-1"
        assert assert_error_body(await response.json(), "NOT_FOUND")["request_id"] == "my-id-1"
    async with server.client.post(
        "/connections", data="{not json", headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400
        assert_error_body(await response.json(), "INVALID_JSON")
    async with server.client.post("/connections", json={"integration": "acme", "id": 5}) as response:
        error = assert_error_body(await response.json(), "INVALID_INPUT")
        assert response.status == 422 and "id" in error["message"]


async def test_connections_round_trip_without_ever_showing_credentials(server: Server) -> None:
    body = {"integration": "acme", "id": "c1", "credentials": {"api_key": "demo-key"},
            "config": {"api_url": server.api_url}, "metadata": {"plan": "pro"}}  # fmt: skip
    async with server.client.post("/connections", json=body) as response:
        assert response.status == 201, await response.text()
        created = await response.json()
    assert created["credential_fields"] == ["api_key"] and "demo-key" not in str(created)
    async with server.client.post("/connections", json=body) as response:
        assert response.status == 409
        assert_error_body(await response.json(), "ALREADY_EXISTS")
    async with server.client.post("/connections/acme/c1/test") as response:
        assert response.status == 200 and (await response.json())["ok"] is True
    async with server.client.patch("/connections/acme/c1/metadata", json={"seats": 3}) as response:
        assert await response.json() == {"plan": "pro", "seats": 3}
    bad = {"credentials": {"nope": 1}, "metadata": {"lost": True}}
    async with server.client.patch("/connections/acme/c1", json=bad) as response:
        assert response.status == 422
        assert_error_body(await response.json(), "INVALID_CREDENTIALS")
    async with server.client.get("/connections/acme/c1") as response:
        assert (await response.json())["metadata"] == {"plan": "pro", "seats": 3}  # the bad patch changed nothing
    async with server.client.delete("/connections/acme/c1") as response:
        assert response.status == 204
    async with server.client.get("/connections/acme/c1") as response:
        assert response.status == 404


async def test_a_scoped_token_sees_nothing_outside_its_scope(server: Server) -> None:
    await add_connection(server, "c1")
    await add_connection(server, "c2")
    await add_connection(server, "o1", integration="other")
    limited = server.as_token(await server.token("tenant", integrations=("acme",), connections=("c1",)))
    async with limited.get("/connections") as response:
        assert [(c["integration"], c["id"]) for c in await response.json()] == [("acme", "c1")]
    async with limited.get("/integrations/acme") as response:
        assert response.status == 200
    for path in ("/connections/acme/c2", "/connections/other/o1", "/integrations/other"):
        async with limited.get(path) as response:
            assert response.status == 404, path
    async with limited.post("/actions/other/ping", json={"connection_id": "o1"}) as response:
        assert response.status == 404
    reader = server.as_token(await server.token("reader", read_only=True))
    async with reader.get("/connections/acme/c1") as response:
        assert response.status == 200
    async with reader.delete("/connections/acme/c1") as response:
        assert response.status == 403
        assert_error_body(await response.json(), "FORBIDDEN")


async def test_actions_answer_with_output_or_a_clean_error(server: Server) -> None:
    await add_connection(server)
    call = server.client.post
    async with call("/actions/acme/echo", json={"connection_id": "c1", "input": {"text": "hi"}}) as response:
        result = await response.json()
        assert response.status == 200 and result["output"] == {"text": "hi"} and result["status"] == "succeeded"
    async with call("/actions/acme/refuse", json={"connection_id": "c1"}) as response:
        error = assert_error_body(await response.json(), "ACTION_ERROR")
        assert response.status == 409 and error["details"]["payload"] == {"reason": "no"} and error["run_id"]
    async with call("/actions/acme/crash", json={"connection_id": "c1"}) as response:
        error = assert_error_body(await response.json(), "SCRIPT_ERROR")
        assert response.status == 500 and error["run_id"] and "traceback" not in error["details"]
    async with call("/actions/acme/sleepy", json={"connection_id": "c1"}) as response:
        assert response.status == 504
        assert_error_body(await response.json(), "TIME_LIMIT_EXCEEDED")
    async with call("/actions/acme/echo", json={"connection_id": "c1", "input": {"text": 1}}) as response:
        assert response.status == 422
    async with call("/actions/acme/nope", json={"connection_id": "c1"}) as response:
        assert response.status == 404
    async with call("/actions/acme/contacts", json={"connection_id": "c1"}) as response:
        assert response.status == 404  # a sync is not an action


async def test_a_slow_action_answers_202_and_goes_on(server: Server) -> None:
    await add_connection(server)
    body = {"connection_id": "c1", "input": {"seconds": 0.3}, "timeout": 0.05}
    async with server.client.post("/actions/acme/sleepy", json=body) as response:
        assert response.status == 202
        accepted = await response.json()
    assert accepted["status"] == "running"
    for _ in range(100):
        run = await server.runtime.runs.get(accepted["run_id"])
        if run.status != "running":
            break
        await asyncio.sleep(0.05)
    assert run.status == "succeeded" and run.output == {"slept": True}


async def test_syncs_and_records_over_rest(server: Server) -> None:
    await add_connection(server)
    async with server.client.get("/syncs/acme/contacts/c1") as response:
        status = await response.json()
        assert response.status == 200 and status["schedule"] == "every 1h" and status["last_run"] is None
    async with server.client.post("/syncs/acme/contacts/c1/trigger") as response:
        assert response.status == 202 and (await response.json())["job_id"]
    async with server.client.post("/syncs/acme/contacts/c1/trigger") as response:
        assert response.status == 409
        assert_error_body(await response.json(), "SYNC_RUNNING")
    async with server.client.post("/syncs/acme/contacts/c1/pause") as response:
        assert (await response.json())["paused"] is True
    async with server.client.put("/syncs/acme/contacts/c1/schedule", json={"every": "5s"}) as response:
        assert response.status == 422
        assert_error_body(await response.json(), "INVALID_SCHEDULE")
    run = await server.runtime.run("acme.contacts", connection="c1")
    assert run.status == "succeeded"
    async with server.client.get("/records/acme/Contact", params={"connection_id": "c1", "limit": 50}) as response:
        page = await response.json()
    assert len(page["records"]) == 50 and page["next_cursor"]
    query = {"connection_id": "c1", "cursor": page["next_cursor"], "limit": 10_000}
    async with server.client.get("/records/acme/Contact", params=query) as response:
        rest = await response.json()
    assert len(rest["records"]) == 70 and rest["next_cursor"] is None
    for bad in ({"cursor": "garbage"}, {"filter": "sideways"}, {"limit": 0}):
        async with server.client.get("/records/acme/Contact", params={"connection_id": "c1", **bad}) as response:
            assert response.status == 422, bad
    async with server.client.post("/syncs/acme/contacts/c1/reset") as response:
        assert (await response.json())["records_deleted"] == 120


async def test_the_openapi_document_describes_the_api(server: Server) -> None:
    async with server.as_token(None).get("/openapi.json") as response:
        doc = await response.json()
    assert {"/connections", "/actions/{integration}/{action}", "/records/{integration}/{model}"} <= set(doc["paths"])
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
    async with server.as_token(None).get("/docs") as response:
        assert response.status == 200 and "swagger" in (await response.text()).lower()
