import pytest

from splice import paginate
from splice.errors import ConnectionError, PaginationError
from splice.paginate import Cursor, NextUrl, Offset, Page, PageRequest, iterate_pages

from ._fake import ALL_IDS, ITEMS, ids, reply, run


def test_public_names():
    assert paginate.__all__ == sorted(paginate.__all__, key=lambda n: (n[0].islower(), n))
    for name in paginate.__all__:
        assert getattr(paginate, name)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (ITEMS[:3], ITEMS[:3]),
        ({"users": ITEMS[:3], "count": 3}, ITEMS[:3]),
        ({"records": ITEMS[:3], "warnings": [], "total": 3}, ITEMS[:3]),
        ({"items": ITEMS[:3], "data": "x", "errors": []}, ITEMS[:3]),
        (None, []),
    ],
)
async def test_items_found_without_a_path(body, expected):
    pages, _ = await run(Page(max_pages=1), lambda request: reply(request, body))
    assert pages == ([expected] if expected else [])


@pytest.mark.parametrize("body", [{"a": [], "b": []}, {"count": 3}, "text body", 42])
async def test_no_list_found_is_an_error(body):
    with pytest.raises(PaginationError, match="items_path"):
        await run(Page(), lambda request: reply(request, body))


async def test_dotted_items_path():
    body = {"response": {"items": ITEMS[:5], "other": [1]}}
    pages, _ = await run(Page(items_path="response.items", max_pages=1), lambda request: reply(request, body))
    assert pages[0] == ITEMS[:5]


@pytest.mark.parametrize("body", [{"data": {"x": 1}}, {"other": []}, [1, 2]])
async def test_wrong_items_path_names_it(body):
    with pytest.raises(PaginationError, match="'data'") as info:
        await run(Page(items_path="data"), lambda request: reply(request, body))
    assert info.value.details["items_path"] == "data"


async def test_null_at_items_path_is_an_empty_page():
    pages, requests = await run(Page(items_path="data"), lambda r: reply(r, {"data": None}))
    assert pages == [] and len(requests) == 1


async def test_list_index_in_path():
    body = {"results": [{"rows": ITEMS[:4]}]}
    pages, _ = await run(Page(items_path="results.0.rows", max_pages=1), lambda request: reply(request, body))
    assert pages == [ITEMS[:4]]


async def test_empty_first_page_yields_nothing():
    pages, requests = await run(Cursor("next", "c"), lambda request: reply(request, {"data": []}))
    assert pages == [] and len(requests) == 1


async def test_stop_path_with_none_matches_missing_value():
    def handler(request):
        page = request.query["page"]
        body = {"data": ITEMS[(page - 1) * 100 : page * 100]}
        if page < 3:
            body["more"] = True
        return reply(request, body)

    pages, requests = await run(Page(stop_path="more"), handler)
    assert ids(pages) == ALL_IDS and len(requests) == 3


async def test_stop_status_raised_by_fetch():
    async def fetch(request):
        if request.query["offset"] >= 100:
            raise ConnectionError("not found", details={"status": 404})
        return reply(request, {"data": ITEMS[request.query["offset"] :][:50]})

    first = PageRequest("/items", {})
    pages = [p async for p in iterate_pages(Offset(limit=50, stop_status=(404,)), first, fetch)]
    assert ids(pages) == ALL_IDS[:100]


async def test_other_api_errors_propagate():
    async def fetch(request):
        raise ConnectionError("boom", details={"status": 500})

    with pytest.raises(ConnectionError):
        async for _ in iterate_pages(Offset(stop_status=404), PageRequest("/items", {}), fetch):
            pass


async def test_first_request_and_paginator_are_not_modified():
    first = PageRequest("/items", {"q": "x"}, data={"filter": 1})
    paginator = Offset(limit=100)
    seen = []

    async def fetch(request):
        seen.append(request)
        start = request.query["offset"]
        return reply(request, {"data": ITEMS[start : start + 100]})

    pages = [p async for p in iterate_pages(paginator, first, fetch)]
    assert ids(pages) == ALL_IDS
    assert first == PageRequest("/items", {"q": "x"}, data={"filter": 1})
    assert paginator.offset == 0 and paginator.pages == 0
    assert all(r.data == {"filter": 1} and r.query["q"] == "x" for r in seen)
    assert [r.query["offset"] for r in seen] == [0, 100, 200]


async def test_consumer_may_stop_early():
    fetched = []

    async def fetch(request):
        fetched.append(request)
        return reply(request, {"data": ITEMS[:10], "next": f"/items?n={len(fetched)}"})

    pages = iterate_pages(NextUrl("next"), PageRequest("/items", {}), fetch)
    async for _ in pages:
        break
    await pages.aclose()
    assert len(fetched) == 1
