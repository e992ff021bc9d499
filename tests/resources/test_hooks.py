"""Hooks with Celigo's contracts: each violation's message, {} skips, abort, a raising hook fails the page."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from splice.errors import ScriptError, UsageError
from splice.resources import (
    Export,
    Import,
    Paging,
    PostSubmitOptions,
    PreMapOptions,
    PreMapResult,
    PreSavePageOptions,
    PreSavePageResult,
    StaticLookups,
    export_page,
    export_pages,
    import_records,
)

from .conftest import Serve


def api() -> web.Application:
    async def contacts(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("email") == "bad":
            return web.json_response({"error": "no"}, status=422)
        return web.json_response({"id": body.get("email")})

    async def pages(request: web.Request) -> web.Response:
        page = int(request.query["page"])
        return web.json_response({"data": [{"n": page * 2 + i} for i in range(2)]})

    app = web.Application()
    app.router.add_post("/contacts", contacts)
    app.router.add_get("/pages", pages)
    return app


RECORDS = [{"email": "a"}, {"email": "b"}, {"email": "c"}]


def importer(*hooks: str) -> Import:
    return Import(
        name="crm", integration="acme", path="/contacts", response_id_path="id", hooks={h: f"acme.{h}" for h in hooks}
    )


async def run(served: Any, hooks: dict[str, Any], records: list[Any] = RECORDS) -> list[Any]:
    return await import_records(importer(*hooks), records, served.http, lookups=StaticLookups({}), hooks=hooks)


@pytest.mark.parametrize(
    ("hook", "result", "message"),
    [
        (
            "pre_map",
            [{}, {}],
            "pre_map hook acme.pre_map returned 2 items for 3 records; it must return one item per "
            "record ({} to skip one)",
        ),
        (
            "pre_map",
            {"data": []},
            "pre_map hook acme.pre_map returned an object; it must return a list with one item per record",
        ),
        (
            "pre_map",
            [{}, {"record": 1}, {}],
            "pre_map hook acme.pre_map returned an object with keys ['record'] at "
            "index 1; each item is {data}, {data, errors} or {}",
        ),
        (
            "pre_map",
            [{}, {}, {"data": 1, "errors": "x"}],
            "pre_map hook acme.pre_map returned errors at index 2 as a string; errors must be a list",
        ),
        (
            "post_map",
            [{"data": 1}] * 4,
            "post_map hook acme.post_map returned 4 items for 3 records; it must return one item per record "
            "({} to skip one)",
        ),
        (
            "post_submit",
            [],
            "post_submit hook acme.post_submit returned 0 items for 3 records; it must return "
            "response_data, same length",
        ),
        (
            "post_submit",
            [{"status_code": 200}, {"id": 1}, {"status_code": 200}],
            "post_submit hook acme.post_submit returned an object with keys ['id'] at index 1; each item is a response "
            "with a status_code",
        ),
    ],
)
async def test_a_contract_violation_names_the_hook_the_function_and_what_was_expected(
    hook: str, result: Any, message: str, serve: Serve
) -> None:
    served = await serve(api())
    with pytest.raises(ScriptError) as caught:
        await run(served, {hook: lambda options: result})
    assert caught.value.code == "HOOK_CONTRACT" and caught.value.message == message
    assert caught.value.details["hook"] == hook and caught.value.details["function"] == f"acme.{hook}"


async def test_pre_map_skips_with_empty_objects_and_keeps_errors(serve: Serve) -> None:
    served = await serve(api())

    async def pre_map(options: PreMapOptions) -> list[PreMapResult]:  # async hooks work too
        return [
            {},
            {"data": {"email": "B"}, "errors": [{"code": "NOTE", "message": "upper-cased"}]},
            {"data": options["data"][2]},
        ]

    results = await run(served, {"pre_map": pre_map})
    assert [r.ignored for r in results] == [True, False, False] and served.hits["/contacts"] == 2
    assert results[0].stage == "pre_map" and results[1].id == "B"
    assert results[1].errors == [{"code": "NOTE", "message": "upper-cased"}] and results[1].status_code == 200


async def test_post_map_sees_both_sides_and_may_skip(serve: Serve) -> None:
    served = await serve(api())
    seen: list[Any] = []

    def post_map(options: dict[str, Any]) -> list[dict[str, Any]]:
        seen.append((options["pre_map_data"], options["post_map_data"]))
        return [{"data": {**d, "email": d["email"] * 2}} if d["email"] != "b" else {} for d in options["post_map_data"]]

    results = await run(served, {"post_map": post_map})
    assert seen == [(RECORDS, RECORDS)]
    assert [r.id for r in results] == ["aa", None, "cc"] and results[1].ignored


async def test_post_submit_may_rewrite_the_responses(serve: Serve) -> None:
    served = await serve(api())

    def post_submit(options: PostSubmitOptions) -> list[Any]:
        out = []
        for response, pre in zip(options["response_data"], options["pre_map_data"], strict=True):
            if pre["email"] == "c":
                response = {**response, "status_code": 422, "errors": [{"code": "DUP", "message": "duplicate"}]}
            out.append(response)
        return out

    results = await run(served, {"post_submit": post_submit}, [*RECORDS, {"email": "bad"}])
    assert [r.status_code for r in results] == [200, 200, 422, 422]
    assert results[2].errors == [{"code": "DUP", "message": "duplicate"}]
    assert results[2].retry_data == {
        "stage": "submit",
        "data": {"pre_map_data": {"email": "c"}, "post_map_data": {"email": "c"}},
    }
    assert results[3].errors[0]["source"] == "import"  # the destination's own error, passed through the hook


async def test_a_raising_hook_fails_the_page_and_sends_nothing(serve: Serve) -> None:
    served = await serve(api())

    def pre_map(options: dict[str, Any]) -> list[Any]:
        raise ValueError("no email column")

    with pytest.raises(ScriptError) as caught:
        await run(served, {"pre_map": pre_map})
    assert caught.value.code == "SCRIPT_ERROR"
    assert caught.value.message == "pre_map hook acme.pre_map raised ValueError: no email column"
    assert "Traceback" in caught.value.details["traceback"] and served.hits["/contacts"] == 0


async def test_a_declared_hook_must_be_passed(serve: Serve) -> None:
    served = await serve(api())
    with pytest.raises(UsageError, match=r"hook pre_map \(acme.pre_map\) is declared but was not passed"):
        await import_records(importer("pre_map"), RECORDS, served.http, lookups=StaticLookups({}))


PAGES = Export(
    name="numbers",
    integration="acme",
    path="/pages",
    records_path="data",
    page_size=2,
    paging=Paging(method="page", param="page", max_pages=5),
    hooks={"pre_save_page": "acme.save"},
)


async def test_pre_save_page_may_change_the_page_and_abort_the_pages_after_it(serve: Serve) -> None:
    served = await serve(api())
    seen: list[PreSavePageOptions] = []

    def save(options: PreSavePageOptions) -> PreSavePageResult:
        seen.append(options)
        data = [r for r in options["data"] if r["n"] % 2 == 0] + [{"extra": options["page_index"]}]
        return {"data": data, "errors": [], "abort": options["page_index"] == 1}

    pages = [
        p
        async for p in export_pages(
            PAGES,
            served.http,
            hooks={"pre_save_page": save},
            settings={"k": 1},
            start_date="2026-01-01T00:00:00Z",
            end_date="2026-01-02T00:00:00Z",
        )
    ]
    assert [p.data for p in pages] == [[{"n": 0}, {"extra": 0}], [{"n": 2}, {"extra": 1}]]
    assert [p.aborted for p in pages] == [False, True] and pages[-1].state is None and served.hits["/pages"] == 2
    assert seen[0]["settings"] == {"k": 1} and seen[0]["errors"] == []
    assert (seen[0]["last_export_date_time"], seen[0]["current_export_date_time"]) == (
        "2026-01-01T00:00:00.000Z",
        "2026-01-02T00:00:00.000Z",
    )


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ([], "pre_save_page hook acme.save returned a list; it must return {data, errors, abort}"),
        ({"data": {}}, "pre_save_page hook acme.save returned data as an object; data must be a list of records"),
        (
            {"data": [], "abort": "yes"},
            "pre_save_page hook acme.save returned abort as a string; abort must be true or false",
        ),
    ],
)
async def test_pre_save_page_s_contract(result: Any, message: str, serve: Serve) -> None:
    served = await serve(api())
    with pytest.raises(ScriptError) as caught:
        await export_page(PAGES, served.http, hooks={"pre_save_page": lambda options: result})
    assert caught.value.code == "HOOK_CONTRACT" and caught.value.message == message


async def test_a_raising_pre_save_page_fails_the_page(serve: Serve) -> None:
    served = await serve(api())

    def save(options: Any) -> Any:
        raise KeyError("id")

    with pytest.raises(ScriptError, match=r"pre_save_page hook acme\.save raised KeyError"):
        await export_page(PAGES, served.http, hooks={"pre_save_page": save})
