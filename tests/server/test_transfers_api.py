"""Exports and imports over real HTTP: CRUD from one route factory, runs, record errors and retries."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from tests.server.conftest import PROJECT, Server, StartServer, add_connection, assert_error_body

SOURCE = (
    PROJECT
    + """
from splice.resources import Field, Mapping, Paging  # noqa: E402

acme.export("contacts", path="/paged/page", query={"page": "{{ paging.page }}", "limit": "40"}, records_path="data",
            page_size=40, paging=Paging(method="page", start=1))
COPY = Mapping(fields=(Field(generate="email", extract="'copy-' & email"), Field(generate="name", extract="name")))
acme.import_("copies", path="/contacts", response_id_path="id", mapping=COPY)
"""
)


async def call(client: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with client.request(method, path, json=body) as resp:
        return resp.status, (await resp.json() if resp.status != 204 else None)


@pytest.fixture
async def server(start_server: StartServer) -> Server:
    served = await start_server(SOURCE)
    await add_connection(served)
    return served


async def test_export_pages_over_rest_round_trip_their_state(server: Server) -> None:
    status, first = await call(server.client, "POST", "/exports/acme.contacts/run", {"connection_id": "c1"})
    assert status == 200 and len(first["data"]) == 40 and first["paged_export_state"] is not None
    seen = [c["id"] for c in first["data"]]
    body = {"connection_id": "c1", "paged_export_state": first["paged_export_state"]}
    while body["paged_export_state"] is not None:
        status, page = await call(server.client, "POST", "/exports/acme.contacts/run", body)
        assert status == 200
        seen += [c["id"] for c in page["data"]]
        body["paged_export_state"] = page["paged_export_state"]
    assert len(seen) == len(set(seen)) == 120
    status, run = await call(server.client, "GET", f"/runs/{first['run_id']}")
    assert status == 200 and run["kind"] == "export" and run["status"] == "succeeded"


async def test_crud_from_the_route_factory(server: Server) -> None:
    status, listed = await call(server.client, "GET", "/exports")
    assert status == 200 and [(d["id"], d["source"]) for d in listed] == [("acme.contacts", "code")]
    doc = {"integration": "acme", "name": "first", "path": "/paged/page", "records_path": "data",
           "query": {"page": "1", "limit": "3"}, "external_id": "ext-1"}  # fmt: skip
    status, made = await call(server.client, "POST", "/exports", doc)
    assert status == 201 and made["id"] == "acme.first" and made["source"] == "api"
    status, found = await call(server.client, "GET", "/exports?external_id=ext-1")
    assert [d["id"] for d in found] == ["acme.first"]
    status, patched = await call(server.client, "PATCH", "/exports/acme.first",
                                 [{"op": "replace", "path": "/query/limit", "value": "2"}])  # fmt: skip
    assert status == 200 and patched["query"]["limit"] == "2"
    status, page = await call(server.client, "POST", "/exports/acme.first/run", {"connection_id": "c1"})
    assert status == 200 and len(page["data"]) == 2
    status, body = await call(server.client, "PATCH", "/exports/acme.contacts", [{"op": "remove", "path": "/paging"}])
    assert status == 409 and assert_error_body(body, "READ_ONLY")
    status, body = await call(server.client, "PUT", "/exports/acme.first", {"path": "/x", "paging": {"method": "nope"}})
    assert status == 422 and "paging.method" in assert_error_body(body, "INVALID_RESOURCE")["message"]
    status, body = await call(server.client, "POST", "/exports", {**doc, "name": "contacts"})
    assert status == 409 and assert_error_body(body, "ALREADY_EXISTS")
    await server.runtime.resource_state.put("exports", "acme.first", "cursor", "p2")
    status, _ = await call(server.client, "DELETE", "/exports/acme.first")
    assert status == 204
    status, body = await call(server.client, "GET", "/exports/acme.first")
    assert status == 404 and assert_error_body(body, "NOT_FOUND")
    # made again under the same id, it starts without the deleted one's state
    await call(server.client, "POST", "/exports", doc)
    assert await server.runtime.resource_state.keys("exports", "acme.first") == []


async def test_an_import_keeps_a_failed_record_and_retries_it_alone(server: Server) -> None:
    records = [{"email": "a@x.test", "name": "A"}, {"email": "user1@example.com", "name": "taken"}]
    status, _ = await call(server.client, "POST", "/imports/acme.copies/run",
                           {"connection_id": "c1", "data": [{"email": "user1@example.com", "name": "x"}]})  # fmt: skip
    assert status == 200  # copy-user1@example.com now exists
    status, sent = await call(
        server.client, "POST", "/imports/acme.copies/run", {"connection_id": "c1", "data": records}
    )
    assert status == 200 and [r["status_code"] for r in sent["results"]] == [200, 422]
    assert len(sent["errors"]) == 1
    status, errors = await call(server.client, "GET", f"/runs/{sent['run_id']}/errors")
    assert status == 200 and [(e["stage"], e["status"]) for e in errors] == [("submit", "open")]
    fixed = {**errors[0]["retry_data"]["data"], "post_map_data": {"email": "copy-new@x.test", "name": "taken"}}
    status, again = await call(server.client, "POST", f"/runs/{sent['run_id']}/errors/retry",
                               {"data": {errors[0]["id"]: fixed}})  # fmt: skip
    assert status == 200 and [r["status_code"] for r in again[0]["results"]] == [200]
    status, errors = await call(server.client, "GET", f"/runs/{sent['run_id']}/errors?status=open")
    assert errors == []


async def test_run_mapping_and_bad_bodies(server: Server) -> None:
    body = {"import": "acme.copies", "connection_id": "c1", "data": [{"email": "e", "name": "n"}]}
    status, mapped = await call(server.client, "POST", "/imports/run-mapping", body)
    assert status == 200 and mapped == [{"status_code": 200, "data": {"email": "copy-e", "name": "n"}, "errors": []}]
    status, body = await call(server.client, "POST", "/imports/acme.copies/run", {"connection_id": "c1", "data": "x"})
    assert status == 422
    status, body = await call(server.client, "POST", "/exports/acme.nope/run", {"connection_id": "c1"})
    assert status == 404 and "acme.nope" in assert_error_body(body, "NOT_FOUND")["message"]


async def test_tokens_limited_to_another_integration_see_none_of_it(server: Server) -> None:
    secret = await server.token("other-only", integrations=["other"])
    async with server.as_token(secret) as client:
        status, listed = await call(client, "GET", "/exports")
        assert status == 200 and listed == []
        status, _ = await call(client, "GET", "/exports/acme.contacts")
        assert status == 404
        status, _ = await call(client, "POST", "/exports/acme.contacts/run", {"connection_id": "c1"})
        assert status == 404
