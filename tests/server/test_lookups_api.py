"""``/lookup_caches`` and ``/state/resources`` over real HTTP: pages, puts, deletes, purges,
the limits' 422s, and what scoped and read-only tokens may do."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from tests.server.conftest import PROJECT, Server, StartServer, add_connection, assert_error_body

SOURCE = (
    PROJECT
    + """
acme.lookup_cache("skus", description="ERP item id by SKU")
other.lookup_cache("zones")

from splice import step  # noqa: E402


@acme.step()
async def noop(ctx, step_results):
    return None


acme.flow("nightly", steps=[step.code("Noop", noop)])
acme.export("orders", path="/orders")
"""
)


async def call(client: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with client.request(method, path, json=body) as resp:
        return resp.status, (await resp.json() if resp.status != 204 else None)


@pytest.fixture
async def server(start_server: StartServer) -> Server:
    return await start_server(SOURCE)


async def test_put_page_delete_and_purge(server: Server) -> None:
    client = server.client
    entries = [{"key": f"k{i:04d}", "value": f"v{i}"} for i in range(1000)]
    status, body = await call(client, "POST", "/lookup_caches/acme.skus/data", {"entries": entries})
    assert status == 200 and [r["status"] for r in body["results"]] == ["created"] * 1000
    more = [{"key": "k0000", "value": "changed"}, {"key": "x", "value": 1}, {"key": "y", "value": "{}"}]
    status, body = await call(client, "POST", "/lookup_caches/acme.skus/data", {"entries": more})
    assert status == 200
    assert body["results"][0] == {"key": "k0000", "status": "updated"}
    assert body["results"][1]["error"]["code"] == "INVALID_INPUT"
    assert body["results"][2] == {"key": "y", "status": "created"}

    seen: list[str] = []
    path: str | None = "/lookup_caches/acme.skus/data?starts_with=k&page_size=300"
    pages = 0
    while path is not None:
        status, page = await call(client, "GET", path)
        assert status == 200
        seen += [e["key"] for e in page["data"]]
        path, pages = page["next_page_url"], pages + 1
    assert seen == [e["key"] for e in entries] and pages == 4

    status, page = await call(client, "GET", "/lookup_caches/acme.skus/data?keys=y&keys=k0000&keys=nope")
    assert page == {"data": [{"key": "k0000", "value": "changed"}, {"key": "y", "value": "{}"}], "next_page_url": None}

    status, listed = await call(client, "GET", "/lookup_caches")
    size = sum(len(e["key"]) + len(e["value"]) for e in entries) + 5 + 3
    skus = {"id": "acme.skus", "integration": "acme", "name": "skus", "description": "ERP item id by SKU",
            "source": "code", "entries": 1001, "bytes": size}  # fmt: skip
    assert status == 200 and listed[0] == skus and listed[1]["id"] == "other.zones"
    assert await call(client, "GET", "/lookup_caches/acme.skus") == (200, skus)

    status, body = await call(client, "DELETE", "/lookup_caches/acme.skus/data?keys=y&keys=nope")
    assert body == {"results": [{"key": "y", "deleted": True}, {"key": "nope", "deleted": False}]}
    status, body = await call(client, "DELETE", "/lookup_caches/acme.skus/data", {"keys": ["k0001"]})
    assert body == {"results": [{"key": "k0001", "deleted": True}]}
    status, body = await call(client, "DELETE", "/lookup_caches/acme.skus/data")
    assert status == 422 and "say which keys to delete" in assert_error_body(body, "INVALID_INPUT")["message"]

    assert await call(client, "POST", "/lookup_caches/acme.skus/purge") == (200, {"purged": 999})
    assert (await call(client, "GET", "/lookup_caches/acme.skus"))[1]["entries"] == 0


async def test_limits_answer_422_and_write_nothing(server: Server) -> None:
    client = server.client
    too_many = [{"key": f"k{i}", "value": "v"} for i in range(1001)]
    status, body = await call(client, "POST", "/lookup_caches/acme.skus/data", {"entries": too_many})
    assert status == 422
    error = assert_error_body(body, "LOOKUP_PUT_TOO_LARGE")
    assert "at most 1,000 entries; this one has 1,001" in error["message"]
    status, body = await call(client, "GET", "/lookup_caches/acme.skus/data?page_size=1001")
    assert status == 422
    status, body = await call(client, "GET", "/lookup_caches/acme.skus/data?page_size=0")
    assert status == 422
    assert (await call(client, "GET", "/lookup_caches/acme.skus"))[1]["entries"] == 0


async def test_the_cache_cap_comes_from_splice_toml(start_server: StartServer) -> None:
    from tests.conftest import SPLICE_TOML

    server = await start_server(SOURCE, SPLICE_TOML + "max_lookup_cache_mb = 1\n")
    big = "x" * 400_000
    entries = [{"key": "a", "value": big}, {"key": "b", "value": big}]
    assert (await call(server.client, "POST", "/lookup_caches/acme.skus/data", {"entries": entries}))[0] == 200
    status, body = await call(server.client, "POST", "/lookup_caches/acme.skus/data",
                              {"entries": [{"key": "c", "value": big}]})  # fmt: skip
    assert status == 422
    error = assert_error_body(body, "LOOKUP_CACHE_FULL")
    assert "the limit is 1,048,576" in error["message"] and "max_lookup_cache_mb" in error["hint"]


async def test_caches_created_over_the_api_hold_entries_and_take_them_when_deleted(server: Server) -> None:
    client = server.client
    status, made = await call(client, "POST", "/lookup_caches", {"integration": "acme", "name": "zip-codes",
                                                                 "external_id": "erp-zips"})  # fmt: skip
    assert status == 201 and made["id"] == "acme.zip-codes" and made["source"] == "api" and made["entries"] == 0
    entries = [{"key": "10115", "value": "Berlin"}, {"key": "80331", "value": "Munich"}]
    assert (await call(client, "POST", "/lookup_caches/acme.zip-codes/data", {"entries": entries}))[0] == 200
    status, page = await call(client, "GET", "/lookup_caches/acme.zip-codes/data?keys=80331")
    assert page["data"] == [{"key": "80331", "value": "Munich"}]
    status, found = await call(client, "GET", "/lookup_caches?external_id=erp-zips")
    assert [(c["id"], c["entries"]) for c in found] == [("acme.zip-codes", 2)]

    patch = [{"op": "replace", "path": "/description", "value": "city by ZIP"}]
    status, patched = await call(client, "PATCH", "/lookup_caches/acme.zip-codes", patch)
    assert status == 200 and patched["description"] == "city by ZIP" and patched["entries"] == 2

    status, body = await call(client, "PATCH", "/lookup_caches/acme.skus", patch)
    assert status == 409 and assert_error_body(body, "READ_ONLY")
    status, body = await call(client, "POST", "/lookup_caches", {"integration": "acme", "name": "Bad Name"})
    assert status == 422 and "name" in assert_error_body(body, "INVALID_RESOURCE")["message"]
    status, body = await call(client, "POST", "/lookup_caches", {"integration": "acme", "name": "skus"})
    assert status == 409 and assert_error_body(body, "ALREADY_EXISTS")

    assert (await call(client, "DELETE", "/lookup_caches/acme.zip-codes"))[0] == 204
    status, body = await call(client, "GET", "/lookup_caches/acme.zip-codes/data")
    assert status == 404
    # a cache made again under the same name starts empty: the deleted one took its entries
    await call(client, "POST", "/lookup_caches", {"integration": "acme", "name": "zip-codes"})
    assert (await call(client, "GET", "/lookup_caches/acme.zip-codes/data"))[1]["data"] == []


async def test_unknown_caches_are_404(server: Server) -> None:
    for method, path in (("GET", "/lookup_caches/acme.nope"), ("GET", "/lookup_caches/acme.nope/data"),
                         ("POST", "/lookup_caches/nope.skus/purge")):  # fmt: skip
        status, body = await call(server.client, method, path)
        assert status == 404, path
        assert "lookup cache" in assert_error_body(body, "NOT_FOUND")["message"]


async def test_scoped_and_read_only_tokens(server: Server) -> None:
    await server.runtime.lookups.put_data("acme.skus", [{"key": "a", "value": "1"}])
    other_only = server.as_token(await server.token("o", integrations=["other"]))
    status, listed = await call(other_only, "GET", "/lookup_caches")
    assert status == 200 and [c["id"] for c in listed] == ["other.zones"]
    for method, path in (("GET", "/lookup_caches/acme.skus"), ("GET", "/lookup_caches/acme.skus/data"),
                         ("POST", "/lookup_caches/acme.skus/purge")):  # fmt: skip
        status, body = await call(other_only, method, path)
        assert status == 404 and "not found" in assert_error_body(body, "NOT_FOUND")["message"]

    reader = server.as_token(await server.token("r", read_only=True))
    assert (await call(reader, "GET", "/lookup_caches/acme.skus/data"))[0] == 200
    for method, path, body in (("POST", "/lookup_caches/acme.skus/data", {"entries": []}),
                               ("DELETE", "/lookup_caches/acme.skus/data?keys=a", None),
                               ("POST", "/lookup_caches/acme.skus/purge", None)):  # fmt: skip
        status, answer = await call(reader, method, path, body)
        assert status == 403 and "read-only" in assert_error_body(answer, "FORBIDDEN")["message"]

    tenant = server.as_token(await server.token("c", connections=["c1"]))
    status, body = await call(tenant, "GET", "/lookup_caches/acme.skus/data")
    assert status == 403 and "without connection limits" in assert_error_body(body, "FORBIDDEN")["message"]
    assert (await server.runtime.lookups.get_data("acme.skus"))["data"] == [{"key": "a", "value": "1"}]


async def test_state_by_resource(server: Server) -> None:
    client = server.client
    await add_connection(server, "c1.eu")
    for resource_type, resource_id in (("integrations", "acme"), ("connections", "acme.c1.eu"),
                                       ("flows", "acme.nightly"), ("exports", "acme.orders")):  # fmt: skip
        base = f"/state/resources/{resource_type}/{resource_id}"
        assert await call(client, "PUT", f"{base}/cursors/a", {"value": {"n": 1}}) == (
            200,
            {"key": "cursors/a", "value": {"n": 1}},
        )
        assert await call(client, "GET", base) == (200, ["cursors/a"])
        assert await call(client, "GET", f"{base}/cursors/a") == (200, {"key": "cursors/a", "value": {"n": 1}})
    # the same store as the older paths and ctx.state
    assert await call(client, "GET", "/state/integrations/acme/cursors/a") == (
        200,
        {"key": "cursors/a", "value": {"n": 1}},
    )
    assert await call(client, "GET", "/state/connections/acme/c1.eu") == (200, ["cursors/a"])
    assert await server.runtime.resource_state.get("exports", "acme.orders", "cursors/a") == {"n": 1}
    assert await call(client, "DELETE", "/state/resources/flows/acme.nightly/cursors/a") == (204, None)
    assert (await call(client, "GET", "/state/resources/flows/acme.nightly/cursors/a"))[0] == 404

    for path, code, status in (("/state/resources/flows/acme.nope", "NOT_FOUND", 404),
                               ("/state/resources/exports/acme.nope", "NOT_FOUND", 404),
                               ("/state/resources/connections/acme.c9", "NOT_FOUND", 404),
                               ("/state/resources/integrations/nope", "NOT_FOUND", 404),
                               ("/state/resources/flows/nodot", "INVALID_INPUT", 422)):  # fmt: skip
        answer_status, body = await call(client, "GET", path)
        assert answer_status == status, path
        assert_error_body(body, code)
    assert (await call(client, "GET", "/state/resources/widgets/acme"))[0] == 422

    other_only = server.as_token(await server.token("o", integrations=["other"]))
    status, body = await call(other_only, "GET", "/state/resources/integrations/acme")
    assert status == 404
    reader = server.as_token(await server.token("r", read_only=True))
    status, body = await call(reader, "PUT", "/state/resources/integrations/acme/k", {"value": 1})
    assert status == 403 and "read-only" in assert_error_body(body, "FORBIDDEN")["message"]
