"""Page-number pagination: ask for page 1, 2, 3, ...

A sample response::

    {"data": [{"id": 1}, {"id": 2}], "page": 1, "total_pages": 3}

Usage::

    paginate.Page()                                            # ?page=1, ?page=2, ...
    paginate.Page(page_param="p", start=0, limit_param="per_page", limit=50,
                  total_pages_path="total_pages")

The last page is empty or short (fewer than ``limit`` items, when a limit is given), or the
``total_pages``-th page when ``total_pages_path`` is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from splice.errors import InvalidInput
from splice.paginate._base import (
    BasePaginator,
    PageRequest,
    PageResponse,
    check_number,
    check_positive,
    lookup,
    loop_error,
)


@dataclass(slots=True)
class Page(BasePaginator):
    """Send ``page_param`` counting up from ``start``; optionally ``limit_param=limit``."""

    page_param: str = "page"
    start: int = 1
    limit_param: str | None = None
    limit: int | None = None
    total_pages_path: str | None = None
    page: int = field(default=1, init=False, repr=False, compare=False)
    previous: list[Any] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        BasePaginator.__post_init__(self)
        if not self.page_param:
            raise InvalidInput("Page needs a page_param")
        check_positive("limit", self.limit)

    def page_limit(self) -> int | None:
        return self.limit

    def init_request(self, request: PageRequest) -> None:
        self.page = self.start
        request.query[self.page_param] = self.start
        if self.limit_param and self.limit is not None:
            request.query[self.limit_param] = self.limit

    def advance(self, response: PageResponse, items: list[Any]) -> None:
        if items == self.previous:
            hint = f"check that page_param {self.page_param!r} is the one the API reads"
            raise loop_error("page", f"page {self.page}", response, hint)
        self.previous = items
        self.page += 1
        if self.total_pages_path is not None:
            path = self.total_pages_path
            total = check_number(lookup(response.data, path), path, response)
            if total is not None and self.page - self.start >= total:
                self.has_next_page = False

    def update_request(self, request: PageRequest) -> None:
        request.query[self.page_param] = self.page
