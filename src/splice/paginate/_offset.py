"""Offset (also "skip") pagination: ask for ``limit`` items starting at ``offset``.

A sample response::

    {"items": [{"id": 201}, {"id": 202}], "total": 237}

Usage::

    paginate.Offset(limit=100)                                   # ?offset=0&limit=100, ...
    paginate.Offset(offset_param="skip", limit_param="top", limit=50, total_path="total")

The offset grows by the number of items received. The last page is short (fewer than
``limit`` items) or empty, or reaches ``total`` when ``total_path`` is given.
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
class Offset(BasePaginator):
    """Send ``offset_param`` (from ``start``) and ``limit_param``; advance by the page's size."""

    offset_param: str = "offset"
    limit_param: str | None = "limit"
    limit: int | None = 100
    start: int = 0
    total_path: str | None = None
    offset: int = field(default=0, init=False, repr=False, compare=False)
    previous: list[Any] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        BasePaginator.__post_init__(self)
        if not self.offset_param:
            raise InvalidInput("Offset needs an offset_param")
        check_positive("limit", self.limit)

    def page_limit(self) -> int | None:
        return self.limit

    def init_request(self, request: PageRequest) -> None:
        self.offset = self.start
        request.query[self.offset_param] = self.start
        if self.limit_param and self.limit is not None:
            request.query[self.limit_param] = self.limit

    def advance(self, response: PageResponse, items: list[Any]) -> None:
        if items == self.previous:
            hint = f"check that offset_param {self.offset_param!r} is the one the API reads"
            raise loop_error("page", f"offset {self.offset}", response, hint)
        self.previous = items
        self.offset += len(items)
        if self.total_path is not None:
            total = check_number(lookup(response.data, self.total_path), self.total_path, response)
            if total is not None and self.offset >= total:
                self.has_next_page = False

    def update_request(self, request: PageRequest) -> None:
        request.query[self.offset_param] = self.offset
