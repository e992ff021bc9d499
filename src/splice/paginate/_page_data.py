"""A page of items that remembers where it came from.

A sample response (``GET /contacts?cursor=c2VydmVyLXNpZGU``)::

    HTTP/1.1 200 OK
    X-RateLimit-Remaining: 42

    {"data": [{"id": 3}, {"id": 4}], "meta": {"next": "bmV4dC1wYWdl"}}

Usage::

    async for page in ctx.api.paginate("/contacts", strategy=paginate.Cursor(...)):
        await ctx.records.save(page)                      # a page is a list of its items
        page.index                                        # 1 (the second page)
        page.request.query["cursor"]                      # "c2VydmVyLXNpZGU": the cursor followed
        page.response.status, page.response.headers["X-RateLimit-Remaining"]
        await ctx.checkpoint.save({"cursor": page.request.query.get("cursor")})

``page.response.data`` is the whole parsed body (``meta.next`` included) and
``page.response.url`` the absolute URL requested, secrets masked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from splice.paginate._base import PageRequest, PageResponse

_T = TypeVar("_T")


class PageData(list[_T]):
    """The items of one page, with the :class:`PageRequest` that fetched it, its
    :class:`PageResponse` and its 0-based ``index``.

    It is a ``list``, so code written for plain pages (``len(page)``, slicing, ``for item in
    page``, ``ctx.records.save(page)``, JSON) works unchanged; equality compares the items only.
    It pickles with its request and response, and JSON-encodes as the list of items.
    """

    __slots__ = ("index", "request", "response")

    def __init__(self, items: Iterable[_T], request: PageRequest, response: PageResponse, index: int) -> None:
        super().__init__(items)
        self.request = request
        self.response = response
        self.index = index

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (list(self), self.request, self.response, self.index)

    def __repr__(self) -> str:
        return f"PageData({list.__repr__(self)}, index={self.index}, status={self.response.status})"
