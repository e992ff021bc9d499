"""Pages carry the request that fetched them, the response and their index, and stay lists."""

import copy
import json
import pickle

import orjson
from pydantic import BaseModel, TypeAdapter

from splice.paginate import Cursor, LinkHeader, PageData, PageRequest, PageResponse

from ._fake import ITEMS, reply, run


def cursor_api(request: PageRequest) -> PageResponse:
    start = int(request.query.get("cursor", 0))
    chunk = ITEMS[start : start + 100]
    nxt = str(start + 100) if start + 100 < len(ITEMS) else None
    return reply(request, {"data": chunk, "meta": {"next": nxt}}, headers={"X-Remaining": str(10 - start // 100)})


async def test_each_page_carries_its_request_response_and_index():
    pages, requests = await run(Cursor("meta.next", "cursor", items_path="data"), cursor_api, since="2026-01-01")
    assert [type(page) for page in pages] == [PageData] * 3
    assert [page.index for page in pages] == [0, 1, 2]
    assert [page.request for page in pages] == requests
    assert [page.request.query.get("cursor") for page in pages] == [None, "100", "200"]
    assert all(page.request.query["since"] == "2026-01-01" for page in pages)
    assert [page.response.headers["x-remaining"] for page in pages] == ["10", "9", "8"]
    assert pages[1].response.status == 200
    assert pages[1].response.url.endswith("/items?since=2026-01-01&cursor=100")
    assert pages[1].response.data["meta"] == {"next": "200"}


async def test_the_link_followed_is_the_pages_request():
    def handler(request):
        page = int(request.query.get("page", 1))
        headers = {"Link": f'<https://api.acme.test/items?page={page + 1}>; rel="next"'} if page < 3 else {}
        return reply(request, ITEMS[(page - 1) * 100 : page * 100], headers=headers)

    pages, _ = await run(LinkHeader(), handler)
    assert [(page.request.path, page.request.query) for page in pages] == [
        ("/items", {}),
        ("https://api.acme.test/items", {"page": "2"}),
        ("https://api.acme.test/items", {"page": "3"}),
    ]


async def test_a_page_is_still_a_list_of_its_items():
    pages, _ = await run(Cursor("meta.next", "cursor", items_path="data"), cursor_api)
    page = pages[0]
    assert isinstance(page, list) and page == ITEMS[:100] and len(page) == 100
    assert page[:2] == ITEMS[:2] and type(page[:2]) is list
    assert [item["id"] for item in page][-1] == 99
    assert orjson.loads(orjson.dumps(page)) == ITEMS[:100]
    assert json.loads(json.dumps(page)) == ITEMS[:100]
    assert "index=0" in repr(page) and "status=200" in repr(page)


async def test_a_page_validates_as_records_would():
    class Item(BaseModel):
        id: int

    pages, _ = await run(Cursor("meta.next", "cursor", items_path="data"), cursor_api)
    assert TypeAdapter(list[Item]).validate_python(pages[2]) == [Item(id=i) for i in range(200, 237)]


async def test_a_page_pickles_and_copies_with_its_context():
    pages, _ = await run(Cursor("meta.next", "cursor", items_path="data"), cursor_api)
    for clone in (pickle.loads(pickle.dumps(pages[1])), copy.copy(pages[1]), copy.deepcopy(pages[1])):
        assert type(clone) is PageData and clone == pages[1]
        assert (clone.index, clone.request, clone.response.url) == (1, pages[1].request, pages[1].response.url)
        assert clone.response.headers["X-Remaining"] == "9"
