import pytest
from multidict import CIMultiDict

from splice.errors import InvalidInput, PaginationError
from splice.paginate import LinkHeader, PageResponse
from splice.paginate._link_header import parse_links

from ._fake import ALL_IDS, BASE, ITEMS, ids, reply, run


def github_api(request):
    page = int(request.query.get("page", 1))
    size = int(request.query.get("per_page", 30))
    last = -(-len(ITEMS) // size)
    headers: CIMultiDict[str] = CIMultiDict()
    if page < last:  # mixed spellings on purpose
        headers.add("link", f'<{BASE}/items?page={page + 1}&per_page={size}>; rel="next"')
        headers.add("Link", f"<{BASE}/items?page={last}&per_page={size}>; rel=last")
    if page > 1:
        headers.add("LINK", f'</items?page={page - 1}&per_page={size}>; rel="Prev"')
    return reply(request, ITEMS[(page - 1) * size : page * size], headers=headers)


async def test_every_item_once():
    pages, requests = await run(LinkHeader(), github_api, per_page=50)
    assert ids(pages) == ALL_IDS
    assert [r.query for r in requests[1:]] == [{"page": str(n), "per_page": "50"} for n in range(2, 6)]
    assert all(r.path == f"{BASE}/items" for r in requests[1:])


async def test_other_rel_and_relative_links():
    pages, requests = await run(LinkHeader(rel="prev"), github_api, page=5, per_page=50)
    assert sorted(ids(pages)) == ALL_IDS
    assert [r.query.get("page") for r in requests] == [5, "4", "3", "2", "1"]


async def test_no_link_stops():
    pages, requests = await run(LinkHeader(), lambda request: reply(request, ITEMS))
    assert ids(pages) == ALL_IDS
    assert len(requests) == 1


async def test_link_to_itself_is_a_loop():
    def handler(request):
        return reply(request, ITEMS[:5], headers={"Link": f'<{BASE}/items>; rel="next"'})

    with pytest.raises(PaginationError):
        await run(LinkHeader(), handler)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('<https://a.test/1>; rel="next"', {"next": "https://a.test/1"}),
        ("<https://a.test/1>; rel=next", {"next": "https://a.test/1"}),
        ('<https://a.test/1>; rel="NEXT"', {"next": "https://a.test/1"}),
        (
            '<https://a.test/1>;rel="next last"',
            {"next": "https://a.test/1", "last": "https://a.test/1"},
        ),
        (
            '<https://a.test/?ids=1,2>; title="a, b; c"; rel="next", <https://a.test/9>; rel="last"',
            {"next": "https://a.test/?ids=1,2", "last": "https://a.test/9"},
        ),
        (
            '<https://a.test/1>; rel="next", <https://a.test/2>; rel="next"',
            {"next": "https://a.test/1"},
        ),
        ("<https://a.test/1>; title=x", {}),
        ("", {}),
        ("garbage", {}),
    ],
)
def test_parse_links(header, expected):
    assert parse_links(header) == expected


def test_needs_a_rel():
    with pytest.raises(InvalidInput):
        LinkHeader(rel="")


async def test_plain_dict_headers():
    def handler(request):
        if request.query.get("page") == "2":
            return reply(request, ITEMS[100:])
        link = f'<{BASE}/items?page=2>; rel="next"'
        return PageResponse(200, {"link": link}, ITEMS[:100], f"{BASE}/items")

    pages, _ = await run(LinkHeader(), handler)
    assert ids(pages) == ALL_IDS
