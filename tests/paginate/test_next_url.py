import pytest

from splice.errors import InvalidInput, PaginationError
from splice.paginate import NextUrl

from ._fake import ALL_IDS, BASE, ITEMS, ids, query_of, reply, run


def next_url_api(style):
    def handler(request):
        start = int(request.query.get("after", 0))
        chunk = ITEMS[start : start + 50]
        end = start + len(chunk)
        nxt = None
        if end < len(ITEMS):
            nxt = {
                "absolute": f"{BASE}/v2/items?after={end}&limit=50",
                "root": f"/v2/items?after={end}&limit=50",
                "query": f"?after={end}&limit=50",
            }[style]
        return reply(request, {"results": chunk, "paging": {"next": nxt}})

    return handler


@pytest.mark.parametrize("style", ["absolute", "root", "query"])
async def test_every_item_once(style):
    pages, requests = await run(NextUrl("paging.next"), next_url_api(style), "/v2/items", limit=50)
    assert ids(pages) == ALL_IDS
    assert len(requests) == 5
    assert requests[1].path == f"{BASE}/v2/items"
    assert requests[1].query == {"after": "50", "limit": "50"}


async def test_query_comes_from_the_url_only():
    def handler(request):
        if "after" in request.query:
            return reply(request, {"data": ITEMS[100:137]})
        return reply(request, {"data": ITEMS[:100], "next": "/items?after=100&tag=a&tag=b"})

    pages, requests = await run(NextUrl("next"), handler, since="2024-01-01")
    assert ids(pages) == ALL_IDS[:137]
    assert requests[1].query == {"after": "100", "tag": ["a", "b"]}


async def test_empty_next_stops():
    def handler(request):
        return reply(request, {"data": ITEMS, "next": ""})

    pages, requests = await run(NextUrl("next"), handler)
    assert ids(pages) == ALL_IDS
    assert len(requests) == 1


async def test_link_to_itself_is_a_loop():
    def handler(request):
        return reply(request, {"data": ITEMS[:10], "next": "/items"})

    with pytest.raises(PaginationError, match="same next URL twice"):
        await run(NextUrl("next"), handler)


def test_needs_a_path():
    with pytest.raises(InvalidInput):
        NextUrl("")


def test_query_of_helper():
    assert query_of(f"{BASE}/x?a=1&b=2") == {"a": "1", "b": "2"}
