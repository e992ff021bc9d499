import pytest

from splice.errors import InvalidInput, PaginationError
from splice.paginate import Offset

from ._fake import ALL_IDS, ITEMS, ids, reply, run


def offset_api(offset="offset", limit="limit", default=25, cap=None):
    def handler(request):
        start = int(request.query.get(offset, 0))
        size = int(request.query.get(limit, default))
        size = min(size, cap) if cap else size
        return reply(request, {"items": ITEMS[start : start + size], "total": len(ITEMS)})

    return handler


async def test_every_item_once():
    pages, requests = await run(Offset(limit=50), offset_api())
    assert ids(pages) == ALL_IDS
    assert [(r.query["offset"], r.query["limit"]) for r in requests] == [
        (0, 50),
        (50, 50),
        (100, 50),
        (150, 50),
        (200, 50),
    ]


async def test_without_limit_stops_on_empty_page():
    pages, requests = await run(Offset(limit=None), offset_api(default=25))
    assert ids(pages) == ALL_IDS
    assert len(pages) == 10
    assert len(requests) == 11  # the 11th came back empty
    assert "limit" not in requests[0].query


async def test_total_path_saves_the_empty_request():
    # 237 = 3 * 79: every page is full, so only the total tells the end
    pages, requests = await run(Offset(limit=79, total_path="total"), offset_api())
    assert ids(pages) == ALL_IDS
    assert len(requests) == 3

    pages, requests = await run(Offset(limit=79), offset_api())
    assert ids(pages) == ALL_IDS
    assert len(requests) == 4


async def test_skip_and_top_with_start():
    paginator = Offset(offset_param="skip", limit_param="top", limit=100, start=37)
    pages, requests = await run(paginator, offset_api("skip", "top"))
    assert ids(pages) == ALL_IDS[37:]
    assert [r.query["skip"] for r in requests] == [37, 137, 237]  # two full pages, then empty


async def test_server_capping_the_limit_looks_like_a_last_page():
    # documented rule: fewer items than the limit ends pagination
    pages, _ = await run(Offset(limit=100), offset_api(cap=30))
    assert ids(pages) == ALL_IDS[:30]


async def test_api_ignoring_the_offset_is_a_loop():
    def handler(request):
        return reply(request, {"items": ITEMS[:50]})

    with pytest.raises(PaginationError, match="same page twice") as info:
        await run(Offset(limit=50, offset_param="start"), handler)
    assert "offset_param" in info.value.hint


async def test_non_numeric_total_is_an_error():
    def handler(request):
        return reply(request, {"items": ITEMS[:50], "total": "lots"})

    with pytest.raises(PaginationError, match="'total'"):
        await run(Offset(limit=50, total_path="total"), handler)


async def test_missing_total_is_ignored():
    def handler(request):
        start = request.query["offset"]
        return reply(request, {"items": ITEMS[start : start + 50]})

    pages, _ = await run(Offset(limit=50, total_path="meta.total"), handler)
    assert ids(pages) == ALL_IDS


@pytest.mark.parametrize("kwargs", [{"offset_param": ""}, {"limit": 0}, {"limit": True}])
def test_bad_settings(kwargs):
    with pytest.raises(InvalidInput):
        Offset(**kwargs)
