import pytest

from splice.errors import InvalidInput, PaginationError
from splice.paginate import Cursor, PageRequest

from ._fake import ALL_IDS, ITEMS, ids, reply, run


def cursor_api(limit_default: int = 50, *, empty_next=None):
    """Cursor = index of the next item as a string; meta.next is null on the last page."""

    def handler(request: PageRequest):
        start = int(request.query.get("cursor", 0))
        size = int(request.query.get("limit", limit_default))
        chunk = ITEMS[start : start + size]
        end = start + len(chunk)
        nxt = str(end) if end < len(ITEMS) else empty_next
        return reply(request, {"data": chunk, "meta": {"next": nxt}})

    return handler


async def test_every_item_once_with_limit():
    paginator = Cursor("meta.next", "cursor", limit_param="limit", limit=50, items_path="data")
    pages, requests = await run(paginator, cursor_api())
    assert ids(pages) == ALL_IDS
    assert [len(p) for p in pages] == [50, 50, 50, 50, 37]
    assert requests[0].query == {"limit": 50}
    assert [r.query.get("cursor") for r in requests] == [None, "50", "100", "150", "200"]


@pytest.mark.parametrize("empty", [None, ""])
async def test_stops_when_cursor_null_or_empty(empty):
    pages, requests = await run(Cursor("meta.next", "cursor"), cursor_api(40, empty_next=empty))
    assert ids(pages) == ALL_IDS
    assert len(requests) == 6


async def test_stops_when_cursor_missing():
    def handler(request):
        start = int(request.query.get("cursor", 0))
        chunk = ITEMS[start : start + 100]
        body = {"data": chunk}
        if start + 100 < len(ITEMS):
            body["next_page_token"] = start + 100  # an int token works too
        return reply(request, body)

    pages, requests = await run(Cursor("next_page_token", "cursor"), handler)
    assert ids(pages) == ALL_IDS
    assert len(requests) == 3


async def test_short_page_stops_even_with_a_cursor():
    def handler(request):
        start = int(request.query.get("cursor", 0))
        body = {"data": ITEMS[start : start + 50], "meta": {"next": str(start + 50)}}
        return reply(request, body)

    pages, requests = await run(Cursor("meta.next", "cursor", limit=50), handler)
    assert ids(pages) == ALL_IDS
    assert len(requests) == 5


async def test_same_cursor_twice_is_a_loop():
    def handler(request):
        return reply(request, {"data": ITEMS[:10], "meta": {"next": "abc"}})

    with pytest.raises(PaginationError, match="same cursor twice") as info:
        await run(Cursor("meta.next", "cursor"), handler)
    assert info.value.code == "PAGINATION_ERROR"
    assert info.value.details["cursor"] == "abc"


async def test_cursor_equal_to_the_initial_one_is_a_loop():
    def handler(request):
        return reply(request, {"data": ITEMS[:10], "meta": {"next": "start"}})

    with pytest.raises(PaginationError):
        await run(Cursor("meta.next", "cursor"), handler, cursor="start")


async def test_stop_path_and_value():
    def handler(request):
        start = int(request.query.get("cursor", 0))
        chunk = ITEMS[start : start + 60]
        more = start + 60 < len(ITEMS)
        return reply(request, {"data": chunk, "has_more": more, "next": str(start + 60)})

    paginator = Cursor("next", "cursor", stop_path="has_more", stop_value=False)
    pages, requests = await run(paginator, handler)
    assert ids(pages) == ALL_IDS
    assert len(requests) == 4


async def test_stop_status_page_is_not_yielded():
    def handler(request):
        start = int(request.query.get("cursor", 0))
        if start >= 100:
            return reply(request, {"error": "no such page"}, status=404)
        body = {"data": ITEMS[start : start + 50], "meta": {"next": str(start + 50)}}
        return reply(request, body)

    pages, requests = await run(Cursor("meta.next", "cursor", stop_status=404), handler)
    assert ids(pages) == list(range(100))
    assert len(requests) == 3


async def test_max_pages():
    pages, requests = await run(Cursor("meta.next", "cursor", max_pages=2), cursor_api())
    assert ids(pages) == list(range(100))
    assert len(requests) == 2


async def test_paginator_is_reusable():
    paginator = Cursor("meta.next", "cursor", limit_param="limit", limit=50)
    first, _ = await run(paginator, cursor_api())
    second, _ = await run(paginator, cursor_api())
    assert ids(first) == ids(second) == ALL_IDS
    assert paginator.has_next_page and paginator.pages == 0 and not paginator.seen


def test_fresh_keeps_settings_and_drops_state():
    paginator = Cursor("meta.next", "cursor", limit=5, items_path="data", stop_status=[404, 410])
    paginator.seen.add("x")
    paginator.has_next_page = False
    copy = paginator.fresh()
    assert copy == paginator
    assert copy.stop_status == (404, 410)
    assert copy.has_next_page and not copy.seen


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cursor_path": "", "cursor_param": "c"},
        {"cursor_path": "n", "cursor_param": ""},
        {"cursor_path": "n", "cursor_param": "c", "limit": 0},
        {"cursor_path": "n", "cursor_param": "c", "max_pages": -1},
    ],
)
def test_bad_settings(kwargs):
    with pytest.raises(InvalidInput):
        Cursor(**kwargs)
