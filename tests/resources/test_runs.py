"""Exports and imports run as runs: in the sandboxed child and in-process, through ``ctx.api``,
their hooks in the child, record errors stored with their retry data and retried alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from tests.conftest import ProjectFactory
from tests.resources.conftest import Serve, Served

from splice.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from splice.runtime import Runtime

MODULE = """
from splice import Integration, step
from splice.resources import Delta, Field, Mapping, Paging

crm = Integration("crm", base_url="{url}")
erp = Integration("erp", base_url="{url}")


@crm.hook()
def even_only(options):
    return {{"data": [r for r in options["data"] if r["n"] % 2 == 0], "errors": options["errors"], "abort": False}}


@erp.hook()
def wrong_length(options):
    return options["data"][:1]


crm.export("items", path="/items", query={{"page": "{{{{ paging.page }}}}", "size": "10"}}, records_path="items",
           page_size=10, paging=Paging(method="page", start=1))
crm.export("even", path="/items", query={{"page": "{{{{ paging.page }}}}", "size": "10"}}, records_path="items",
           page_size=10, paging=Paging(method="page", start=1), hooks={{"pre_save_page": even_only}})
erp.import_("contacts", path="/contacts", response_id_path="id",
            mapping=Mapping(fields=(Field(generate="email", extract="$lowercase(email)"),
                                    Field(generate="ref", extract="id"))))
erp.import_("broken", path="/contacts", hooks={{"pre_map": wrong_length}})


@crm.action
async def pull_and_push(ctx, input):
    page = await ctx.engine.exports.run("crm.items")
    mine = [d["id"] for d in await ctx.engine.exports.find()]
    records = [{{"id": r["id"], "email": r["email"]}} for r in page["data"][:2]]
    sent = await ctx.engine.imports.run("erp.contacts", records)
    return {{"pulled": len(page["data"]), "mine": mine, "sent": [r["status_code"] for r in sent["results"]]}}


crm.export("changed", path="/changed", query={{"since": "{{{{ delta.start or '' }}}}"}}, records_path="items",
           delta=Delta(lag_offset=1000))
crm.flow("delta", steps=[step.export("Pull", "changed", then=[step.import_("Push", "erp.contacts")])])


crm.flow("copy", steps=[step.export("Pull", "items", then=[step.import_("Push", "erp.contacts")])])
"""


RECEIVED = web.AppKey("received", list)
FAIL_NEXT = web.AppKey("fail_next", list)
SINCE = web.AppKey("since", list)


def _app(total: int) -> web.Application:
    items = [{"id": f"i{n}", "n": n, "email": f"{'bad' if n == 17 else 'Person'}{n}@Example.com"} for n in range(total)]
    received: list[Any] = []

    async def pages(request: web.Request) -> web.Response:
        page, size = int(request.query["page"]), int(request.query["size"])
        return web.json_response({"items": items[(page - 1) * size : page * size]})

    async def contacts(request: web.Request) -> web.Response:
        body = await request.json()
        if body["email"].startswith("bad"):
            return web.json_response({"error": "email refused"}, status=422)
        received.append(body)
        return web.json_response({"id": f"erp-{len(received)}"}, status=201)

    since: list[str] = []

    async def changed(request: web.Request) -> web.Response:
        since.append(request.query["since"])
        if request.query.get("since") and app[FAIL_NEXT]:
            app[FAIL_NEXT].pop()
            return web.json_response({"error": "down"}, status=400)
        return web.json_response({"items": [{"id": f"d{len(since)}", "email": f"D{len(since)}@x.com"}]})

    app = web.Application()
    app[RECEIVED] = received
    app[SINCE] = since
    app[FAIL_NEXT] = []
    app.add_routes([web.get("/items", pages), web.post("/contacts", contacts), web.get("/changed", changed)])
    return app


@pytest.fixture(params=["process", "none"])
async def setup(
    request: pytest.FixtureRequest, make_project: ProjectFactory, serve: Serve
) -> AsyncIterator[tuple[Runtime, Served, web.Application]]:
    app = _app(25)
    served = await serve(app)
    root = make_project({"transfers.py": MODULE.format(url=served.base)})
    rt = await Runtime.open(root, isolation=request.param)
    await rt.connections.add("crm", "c1", {})
    await rt.connections.add("erp", "c1", {})
    try:
        yield rt, served, app
    finally:
        await rt.close()


async def test_an_export_runs_page_by_page_and_its_state_round_trips(setup: Any) -> None:
    rt, served, _ = setup
    first = await rt.exports.run("crm.items", connection="c1")
    assert [r["n"] for r in first["data"]] == list(range(10)) and first["errors"] == []
    pages, state = [first], first["paged_export_state"]
    while state is not None:
        page = await rt.exports.run_virtual_with_paging("crm.items", connection="c1", paged_export_state=state)
        pages.append(page)
        state = page["paged_export_state"]
    assert [r["n"] for p in pages for r in p["data"]] == list(range(25))
    run = await rt.runs.get(first["run_id"])
    assert run.kind == "export" and run.script == "items" and run.status == "succeeded"
    assert served.hits["/items"] == len(pages)


async def test_a_pre_save_page_hook_runs_on_each_page(setup: Any) -> None:
    rt, _, _ = setup
    page = await rt.exports.run("crm.even", connection="c1")
    assert [r["n"] for r in page["data"]] == [0, 2, 4, 6, 8]


async def test_an_import_maps_and_sends_and_one_bad_record_is_one_error_retried_alone(setup: Any) -> None:
    rt, served, app = setup
    records = [{"id": "a", "email": "Ann@X.com"}, {"id": "b", "email": "bad@x.com"}, {"id": "c", "email": "C@X.com"}]
    sent = await rt.imports.run("erp.contacts", records, connection="c1")
    results = sent["results"]
    assert [r["status_code"] for r in results] == [200, 422, 200]
    assert [r["id"] for r in results] == ["erp-1", None, "erp-2"]
    assert [c["email"] for c in app[RECEIVED]] == ["ann@x.com", "c@x.com"]
    errors = await rt.runs.errors(sent["run_id"])
    assert len(errors) == 1 and errors[0].stage == "submit" and errors[0].status == "open"
    assert served.hits["/contacts"] == 3

    fixed = {errors[0].id: {**errors[0].retry_data["data"], "post_map_data": {"email": "b@x.com", "ref": "b"}}}
    again = await rt.imports.retry_errors(sent["run_id"], data=fixed)
    assert [r["status_code"] for r in again[0]["results"]] == [200]
    assert served.hits["/contacts"] == 4  # only the retried record's call
    assert app[RECEIVED][-1] == {"email": "b@x.com", "ref": "b"}
    assert (await rt.runs.errors(sent["run_id"]))[0].status == "retried"
    with pytest.raises(Conflict):
        await rt.imports.retry_errors(sent["run_id"], ids=[errors[0].id])


async def test_run_mapping_sends_nothing(setup: Any) -> None:
    rt, served, _ = setup
    mapped = await rt.imports.run_mapping("erp.contacts", [{"id": "a", "email": "A@B.C"}], connection="c1")
    assert mapped == [{"status_code": 200, "data": {"email": "a@b.c", "ref": "a"}, "errors": []}]
    assert served.hits["/contacts"] == 0


async def test_a_hook_that_breaks_its_contract_fails_the_run_naming_it(setup: Any) -> None:
    rt, _, _ = setup
    with pytest.raises(Exception, match=r"pre_map hook erp\.wrong_length returned 1 item") as caught:
        await rt.imports.run("erp.broken", [{"email": "a"}, {"email": "b"}], connection="c1")
    assert getattr(caught.value, "code", None) == "HOOK_CONTRACT"


async def test_crud_declared_are_read_only_and_api_ones_are_stored(setup: Any) -> None:
    rt = setup[0]
    assert [d["id"] for d in await rt.exports.find()] == ["crm.items", "crm.even", "crm.changed"]
    with pytest.raises(Conflict, match="read-only"):
        await rt.exports.patch("crm.items", [{"op": "replace", "path": "/page_size", "value": 5}])
    made = await rt.exports.create({"integration": "crm", "name": "five", "path": "/items", "records_path": "items",
                                    "query": {"page": "1", "size": "5"}, "external_id": "ext-5"})  # fmt: skip
    assert made["id"] == "crm.five" and made["source"] == "api"
    assert [d["id"] for d in await rt.exports.find(external_id="ext-5")] == ["crm.five"]
    patched = await rt.exports.patch("crm.five", [{"op": "replace", "path": "/query/size", "value": "3"}])
    assert patched["query"]["size"] == "3"
    assert len((await rt.exports.run("crm.five", connection="c1"))["data"]) == 3
    with pytest.raises(AlreadyExists):
        await rt.exports.create({"integration": "crm", "name": "items", "path": "/x"})
    with pytest.raises(InvalidInput, match=r"paging\.method"):
        await rt.exports.update("crm.five", {"path": "/x", "paging": {"method": "pages"}})
    assert (await rt.exports.get("crm.five"))["query"]["size"] == "3"  # nothing changed
    with pytest.raises(InvalidInput, match="JSON Patch"):
        await rt.exports.patch("crm.five", [{"op": "replace", "path": "/nope/deeper", "value": 1}])
    await rt.exports.delete("crm.five")
    with pytest.raises(NotFound):
        await rt.exports.get("crm.five")


async def test_a_flow_streams_an_export_into_an_import_page_by_page(setup: Any) -> None:
    rt, served, app = setup
    run = await rt.flows.run("crm.copy", connection="c1")
    assert run.status == "succeeded", run.error
    assert run.output == {"pages": 3, "records": 25, "errors": 0, "failed_records": 1}
    assert len(app[RECEIVED]) == 24 and served.hits["/items"] == 3
    steps = {r.step: r for r in await rt.runs.find(parent_id=run.id, limit=100)}
    failed = steps["Pull[1]/Push"]
    assert [r["status_code"] for r in failed.output["results"]].count(422) == 1
    errors = await rt.runs.errors(failed.id)
    assert [e.retry_data["data"]["post_map_data"]["ref"] for e in errors] == ["i17"]
    fixed = {errors[0].id: {**errors[0].retry_data["data"], "post_map_data": {"email": "p17@x.com", "ref": "i17"}}}
    await rt.imports.retry_errors(failed.id, data=fixed)
    assert len(app[RECEIVED]) == 25 and served.hits["/contacts"] == 26 and served.hits["/items"] == 3


async def test_scripts_reach_their_own_exports_through_ctx_engine_and_others_only_with_a_grant(setup: Any) -> None:
    rt, _, app = setup
    run = await rt.run("crm.pull_and_push", connection="c1")
    assert run.status == "failed" and run.error["code"] == "ENGINE_NOT_ALLOWED"
    assert "erp.contacts" in run.error["message"] and 'grants = {crm = ["erp"]}' in run.error["hint"]
    assert app[RECEIVED] == []


async def test_with_a_grant_a_script_runs_another_integration_s_import(
    make_project: ProjectFactory, serve: Serve
) -> None:
    app = _app(5)
    served = await serve(app)
    toml = '[project]\nname = "t"\n\n[engine]\ngrants = {crm = ["erp"]}\n'
    root = make_project({"transfers.py": MODULE.format(url=served.base)}, toml=toml)
    rt = await Runtime.open(root, isolation="process")
    try:
        await rt.connections.add("crm", "c1", {})
        await rt.connections.add("erp", "c1", {})
        run = await rt.run("crm.pull_and_push", connection="c1")
        assert run.status == "succeeded", run.error
        assert run.output == {"pulled": 5, "mine": ["crm.items", "crm.even", "crm.changed"], "sent": [200, 200]}
        assert [c["ref"] for c in app[RECEIVED]] == ["i0", "i1"]
    finally:
        await rt.close()


async def test_a_delta_export_starts_where_the_last_successful_run_ended(setup: Any) -> None:
    rt, _, app = setup
    first = await rt.flows.run("crm.delta", connection="c1")
    assert first.status == "succeeded" and app[SINCE] == [""]  # the first run exports everything
    app[FAIL_NEXT].append(True)
    failed = await rt.flows.run("crm.delta", connection="c1")
    assert failed.status == "succeeded" and failed.output["errors"] == 1  # the page failed: completed with errors
    again = await rt.flows.run("crm.delta", connection="c1")
    assert again.status == "succeeded"
    lagged = (first.created_at - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    assert app[SINCE][1] == app[SINCE][2]  # a run with errors does not move the window
    assert app[SINCE][1][:19] == lagged[:19]
    third = await rt.flows.run("crm.delta", connection="c1")
    assert (
        third.status == "succeeded" and app[SINCE][3][:19] == (again.created_at - timedelta(seconds=1)).isoformat()[:19]
    )
