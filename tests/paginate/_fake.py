"""An in-memory API of 237 items and a runner that drives iterate_pages over it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from multidict import CIMultiDict

from splice.paginate import BasePaginator, PageRequest, PageResponse, iterate_pages

BASE = "https://api.acme.test"
ITEMS = [{"id": i} for i in range(237)]
Handler = Callable[[PageRequest], PageResponse]


def url_of(request: PageRequest) -> str:
    url = request.path if "://" in request.path else BASE + request.path
    return f"{url}?{urlencode(request.query, doseq=True)}" if request.query else url


def query_of(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def reply(
    request: PageRequest,
    data: Any,
    *,
    status: int = 200,
    headers: CIMultiDict[str] | dict[str, str] | None = None,
) -> PageResponse:
    return PageResponse(status, CIMultiDict(headers or {}), data, url_of(request))


async def run(
    paginator: BasePaginator, handler: Handler, path: str = "/items", **query: Any
) -> tuple[list[list[Any]], list[PageRequest]]:
    """All pages yielded, and every request fetched."""
    requests: list[PageRequest] = []

    async def fetch(request: PageRequest) -> PageResponse:
        requests.append(request)
        return handler(request)

    pages = [page async for page in iterate_pages(paginator, PageRequest(path, query), fetch)]
    return pages, requests


def ids(pages: list[list[Any]]) -> list[int]:
    return [item["id"] for page in pages for item in page]


ALL_IDS = list(range(len(ITEMS)))
