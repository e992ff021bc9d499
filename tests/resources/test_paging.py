"""Every paging method against a server that pages for real, the last-page rules and loop detection."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from aiohttp import web

from splice.errors import InvalidInput, PaginationError
from splice.resources import Export, Paging, export_page, export_pages, run_virtual_with_paging

from .conftest import Serve

ITEMS = [{"id": i} for i in range(25)]


def chunk(start: int, size: int) -> list[dict[str, int]]:
    return ITEMS[start : start + size]


def paging_app() -> web.Application:
    async def page(request: web.Request) -> web.Response:
        number, size = int(request.query["page"]), int(request.query.get("size", "10"))
        first = int(request.query.get("first", "0"))
        data = chunk((number - first) * size, size)
        if not data and "missing_is_404" in request.query:
            return web.json_response({"error": "no such page"}, status=404)
        return web.json_response({"data": data, "total_pages": 3, "total": len(ITEMS), "more": str(number < 2)})

    async def skip(request: web.Request) -> web.Response:
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        return web.json_response({"data": chunk(offset, limit), "count": 25})

    async def token(request: web.Request) -> web.Response:
        at = int(request.query.get("cursor", "0"))
        following = at + 10 if at + 10 < len(ITEMS) else None
        if request.query.get("where") == "header":
            headers = {"X-Next": str(following)} if following is not None else {}
            return web.json_response({"data": chunk(at, 10)}, headers=headers)
        return web.json_response({"data": chunk(at, 10), "meta": {"next": following}})

    async def link(request: web.Request) -> web.Response:
        at = int(request.query.get("at", "0"))
        headers = {}
        if at + 10 < len(ITEMS):
            headers["Link"] = f'</link?at={at + 10}>; rel="next", </link?at=0>; rel="first"'
        return web.json_response(chunk(at, 10), headers=headers)

    async def url(request: web.Request) -> web.Response:
        at = int(request.query.get("at", "0"))
        following = f"{request.url.origin()}/url?at={at + 10}" if at + 10 < len(ITEMS) else None
        return web.json_response({"items": chunk(at, 10), "next_url": following})

    async def relative(request: web.Request) -> web.Response:
        at = int(request.match_info["at"])
        return web.json_response({"items": chunk(at, 10), "next": at + 10})

    async def graphql(request: web.Request) -> web.Response:
        after = (await request.json())["variables"]["after"]
        start = 0 if after is None else after + 1
        data = chunk(start, 10)
        return web.json_response({"data": {"items": data, "has_next": start + 10 < len(ITEMS)}})

    async def same_token(request: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": 1}], "next": "again"})

    async def same_url(request: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": 1}]}, headers={"Link": '</same_url>; rel="next"'})

    async def endless(request: web.Request) -> web.Response:
        n = int(request.query.get("n", "0"))
        return web.json_response({"data": [{"id": n}], "next": str(n + 1)})

    async def status_204(request: web.Request) -> web.Response:
        at = int(request.query.get("cursor", "0"))
        if at >= 20:
            return web.Response(status=204)
        return web.json_response({"data": chunk(at, 10), "next": at + 10})

    app = web.Application()
    app.router.add_get("/page", page)
    app.router.add_get("/skip", skip)
    app.router.add_get("/token", token)
    app.router.add_get("/link", link)
    app.router.add_get("/url", url)
    app.router.add_get("/rel/{at}", relative)
    app.router.add_post("/graphql", graphql)
    app.router.add_get("/same_token", same_token)
    app.router.add_get("/same_url", same_url)
    app.router.add_get("/endless", endless)
    app.router.add_get("/status", status_204)
    return app


def export(**fields: Any) -> Export:
    return Export(name="items", integration="acme", **fields)


async def collect(exp: Export, http: Any, **options: Any) -> list[Any]:
    return [record for page in [p async for p in export_pages(exp, http, **options)] for record in page.data]


PAGE = dict(path="/page", records_path="data", page_size=10, query={"size": "{{ export.page_size }}"})
CASES = {
    "page": export(**PAGE, paging=Paging(method="page", param="page")),
    "page from 1": export(
        path="/page",
        records_path="data",
        page_size=10,
        query={"first": "1"},
        paging=Paging(method="page", param="page", start=1),
    ),
    "page in a template": export(
        path="/page",
        query={"page": "{{ paging.page }}"},
        records_path="data",
        page_size=10,
        paging=Paging(method="page"),
    ),
    "skip": export(
        path="/skip",
        query={"limit": "{{ export.page_size }}"},
        records_path="data",
        page_size=10,
        paging=Paging(method="skip", param="offset"),
    ),
    "token in the body": export(
        path="/token", records_path="data", paging=Paging(method="token", path="meta.next", param="cursor")
    ),
    "token in a header": export(
        path="/token",
        query={"where": "header", "cursor": "{{ paging.token or 0 }}"},
        records_path="data",
        paging=Paging(method="token", path="x-next", path_location="header"),
    ),
    "linkheader": export(path="/link", paging=Paging(method="linkheader")),
    "url": export(path="/url", records_path="items", paging=Paging(method="url", path="next_url")),
    "relativeuri": export(
        path="/rel/0",
        records_path="items",
        paging=Paging(method="relativeuri", relative_uri="/rel/{{ previous_page.full_response.next }}"),
    ),
    "body": export(
        path="/graphql",
        method="POST",
        records_path="data.items",
        body={"query": "{ items }", "variables": {"after": None}},
        paging=Paging(
            method="body",
            body={"query": "{ items }", "variables": {"after": "{{ previous_page.last_record.id }}"}},
            last_page_path="data.has_next",
            last_page_values=("false",),
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_every_paging_method_fetches_every_record_once(case: str, serve: Serve) -> None:
    served = await serve(paging_app())
    assert await collect(CASES[case], served.http) == ITEMS
    # a relative URI is rendered whatever came back: its data ends with an empty page
    assert len(served.http.calls) == (4 if case == "relativeuri" else 3)


@pytest.mark.parametrize("case", list(CASES))
async def test_pages_one_by_one_through_the_state_are_the_pages_all_at_once(case: str, serve: Serve) -> None:
    served = await serve(paging_app())
    records, state, calls = [], None, 0
    while True:
        # the state goes through JSON, as it does through REST or the store
        answer = await run_virtual_with_paging(CASES[case], served.http, paged_export_state=state)
        records += answer["data"]
        calls += 1
        if answer["paged_export_state"] is None:
            break
        state = orjson.loads(orjson.dumps(answer["paged_export_state"]))
        assert state == answer["paged_export_state"]
    assert records == ITEMS and calls == (4 if case == "relativeuri" else 3)


async def test_a_state_that_is_not_one_handed_out_is_refused(serve: Serve) -> None:
    served = await serve(paging_app())
    with pytest.raises(InvalidInput) as caught:
        await export_page(CASES["page"], served.http, state={"page": 2})
    assert caught.value.code == "INVALID_CURSOR" and "paged_export_state" in caught.value.message


async def test_a_short_page_ends_page_paging_without_asking_for_more(serve: Serve) -> None:
    served = await serve(paging_app())
    exp = export(**{**PAGE, "page_size": 20, "query": {"size": "20"}}, paging=Paging(method="page", param="page"))
    assert await collect(exp, served.http) == ITEMS
    assert len(served.http.calls) == 2


async def test_an_empty_page_ends_paging(serve: Serve) -> None:
    served = await serve(paging_app())
    exp = export(**{**PAGE, "page_size": 5, "query": {"size": "5"}}, paging=Paging(method="page", param="page"))
    assert await collect(exp, served.http) == ITEMS
    assert len(served.http.calls) == 6  # 5 full pages, then an empty one


async def test_the_last_page_status_ends_paging_and_is_not_an_error(serve: Serve) -> None:
    served = await serve(paging_app())
    exp = export(
        **{**PAGE, "page_size": 5, "query": {"size": "5", "missing_is_404": "1"}},
        paging=Paging(method="page", param="page"),
    )
    pages = [p async for p in export_pages(exp, served.http)]
    assert [r for p in pages for r in p.data] == ITEMS and not any(p.errors for p in pages)
    assert pages[-1].data == [] and pages[-1].state is None

    other = export(
        path="/status",
        records_path="data",
        paging=Paging(method="token", path="next", param="cursor", last_page_status_code=204),
    )
    assert await collect(other, served.http) == ITEMS[:20]


async def test_without_last_page_status_code_404_is_a_page_error(serve: Serve) -> None:
    served = await serve(paging_app())
    exp = export(path="/page", query={"page": "9", "missing_is_404": "1"}, records_path="data")
    page = await export_page(exp, served.http)
    assert page.data == [] and page.state is None
    assert page.errors[0]["code"] == "API_ERROR" and "answered 404" in page.errors[0]["message"]
    assert page.errors[0]["status"] == 404


@pytest.mark.parametrize(
    ("values", "pages"), [(("False",), 3), (("false",), 6), (("True", "False"), 1)]
)  # "True", "True", "False", ...: exact, case-sensitive strings ("false" never matches: 5 pages, then an empty one)
async def test_last_page_path_compares_exact_strings(values: tuple[str, ...], pages: int, serve: Serve) -> None:
    served = await serve(paging_app())
    exp = export(
        **{**PAGE, "page_size": 5, "query": {"size": "5"}},
        paging=Paging(method="page", param="page", last_page_path="more", last_page_values=values),
    )
    await collect(exp, served.http)
    assert len(served.http.calls) == pages


async def test_a_missing_last_page_path_is_not_a_match(serve: Serve) -> None:
    served = await serve(paging_app())
    exp = export(**PAGE, paging=Paging(method="page", param="page", last_page_path="nope", last_page_values=("null",)))
    assert await collect(exp, served.http) == ITEMS


async def test_max_page_path_and_max_count_path_end_page_and_skip_paging(serve: Serve) -> None:
    served = await serve(paging_app())
    # 5 records a page, but the server says 3 pages in all (max_page_path wins over max_count_path)
    exp = export(
        **{**PAGE, "page_size": 5, "query": {"size": "5"}},
        paging=Paging(method="page", param="page", max_page_path="total_pages", max_count_path="total"),
    )
    assert await collect(exp, served.http) == ITEMS[:15]
    skip = export(
        path="/skip",
        query={"limit": "5"},
        records_path="data",
        page_size=5,
        paging=Paging(method="skip", param="offset", max_count_path="count"),
    )
    served.http.calls.clear()
    assert await collect(skip, served.http) == ITEMS
    assert len(served.http.calls) == 5  # count 25 reached: no sixth, empty, request


async def test_the_same_token_twice_is_a_paging_loop(serve: Serve) -> None:
    served = await serve(paging_app())
    exp = export(path="/same_token", records_path="data", paging=Paging(method="token", path="next", param="cursor"))
    started = time.monotonic()
    with pytest.raises(PaginationError) as caught:
        await collect(exp, served.http)
    assert time.monotonic() - started < 5
    error = caught.value
    assert error.code == "PAGING_LOOP"
    assert "export 'items'" in error.message and "page 2" in error.message and "'again'" in error.message
    assert error.details["repeated"] == "again" and len(served.http.calls) == 2


async def test_the_same_next_url_is_a_paging_loop(serve: Serve) -> None:
    served = await serve(paging_app())
    exp = export(path="/same_url", records_path="data", paging=Paging(method="linkheader"))
    with pytest.raises(PaginationError, match="the same next URL twice") as caught:
        await collect(exp, served.http)
    assert caught.value.code == "PAGING_LOOP"


async def test_more_than_max_pages_is_a_paging_loop(serve: Serve) -> None:
    served = await serve(paging_app())
    exp = export(
        path="/endless", records_path="data", paging=Paging(method="token", path="next", param="n", max_pages=7)
    )
    with pytest.raises(PaginationError, match=r"more than max_pages \(7\)") as caught:
        await collect(exp, served.http)
    assert caught.value.code == "PAGING_LOOP" and caught.value.details["page_index"] == 7
    assert len(served.http.calls) == 7
