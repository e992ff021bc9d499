import pytest

from splice.errors import InvalidInput, PaginationError
from splice.paginate import Page

from ._fake import ALL_IDS, ITEMS, ids, reply, run


def page_api(param="page", first=1, size_param="per_page", default=30):
    def handler(request):
        size = int(request.query.get(size_param, default))
        index = int(request.query.get(param, first)) - first
        total_pages = -(-len(ITEMS) // size)
        chunk = ITEMS[index * size : (index + 1) * size]
        return reply(request, {"data": chunk, "page": index + first, "total_pages": total_pages})

    return handler


async def test_every_item_once():
    pages, requests = await run(Page(limit_param="per_page", limit=50), page_api())
    assert ids(pages) == ALL_IDS
    assert [r.query["page"] for r in requests] == [1, 2, 3, 4, 5]
    assert all(r.query["per_page"] == 50 for r in requests)


async def test_without_limit_stops_on_empty_page():
    pages, requests = await run(Page(), page_api(default=30))
    assert ids(pages) == ALL_IDS
    assert len(requests) == 9


async def test_limit_without_param_still_detects_short_page():
    pages, requests = await run(Page(limit=30), page_api(default=30))
    assert ids(pages) == ALL_IDS
    assert len(requests) == 8


async def test_total_pages_from_zero():
    paginator = Page(page_param="p", start=0, total_pages_path="total_pages")
    pages, requests = await run(paginator, page_api(param="p", first=0, default=79))
    assert ids(pages) == ALL_IDS
    assert [r.query["p"] for r in requests] == [0, 1, 2]


async def test_stop_status():
    def handler(request):
        if request.query["page"] > 3:
            return reply(request, None, status=404)
        return page_api()(request)

    pages, requests = await run(Page(stop_status=404), handler)
    assert ids(pages) == ALL_IDS[:90]
    assert len(requests) == 4


async def test_max_pages():
    pages, requests = await run(Page(max_pages=3), page_api())
    assert ids(pages) == ALL_IDS[:90]
    assert len(requests) == 3


async def test_api_ignoring_the_page_is_a_loop():
    def handler(request):
        return reply(request, ITEMS[:30])

    with pytest.raises(PaginationError, match="same page twice"):
        await run(Page(page_param="pg"), handler)


@pytest.mark.parametrize("kwargs", [{"page_param": ""}, {"limit": -5}, {"max_pages": 0}])
def test_bad_settings(kwargs):
    with pytest.raises(InvalidInput):
        Page(**kwargs)
