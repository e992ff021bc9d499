"""Cursor (also "token") pagination: the body names the position of the next page.

A sample response::

    {
        "data": [{"id": 1}, {"id": 2}],
        "meta": {"next": "c2VydmVyLXNpZGU"}
    }

Usage::

    paginate.Cursor(cursor_path="meta.next", cursor_param="cursor", items_path="data")
    paginate.Cursor(cursor_path="next_page_token", cursor_param="page_token", limit=100,
                    limit_param="page_size")

The next request carries ``?cursor=c2VydmVyLXNpZGU``. The last page has no cursor (missing,
null or empty); a cursor seen before means the API is looping, which raises PaginationError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from splice.errors import InvalidInput
from splice.paginate._base import (
    MISSING,
    BasePaginator,
    PageRequest,
    PageResponse,
    check_positive,
    lookup,
    loop_error,
)


@dataclass(slots=True)
class Cursor(BasePaginator):
    """Follow the cursor at ``cursor_path`` in the body, sent back as ``cursor_param``."""

    cursor_path: str
    cursor_param: str
    limit_param: str | None = None
    limit: int | None = None
    cursor: Any = field(default=None, init=False, repr=False, compare=False)
    seen: set[str] = field(default_factory=set, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        BasePaginator.__post_init__(self)
        if not (self.cursor_path and self.cursor_param):
            raise InvalidInput("Cursor needs a cursor_path and a cursor_param")
        check_positive("limit", self.limit)

    def page_limit(self) -> int | None:
        return self.limit

    def init_request(self, request: PageRequest) -> None:
        if self.limit_param and self.limit is not None:
            request.query[self.limit_param] = self.limit
        if request.query.get(self.cursor_param) not in (None, ""):
            self.seen.add(str(request.query[self.cursor_param]))

    def advance(self, response: PageResponse, items: list[Any]) -> None:
        cursor = lookup(response.data, self.cursor_path)
        if cursor is MISSING or cursor in (None, ""):
            self.has_next_page = False
            return
        if str(cursor) in self.seen:
            hint = f"check that cursor_param {self.cursor_param!r} is the one the API reads"
            raise loop_error("cursor", cursor, response, hint)
        self.seen.add(str(cursor))
        self.cursor = cursor

    def update_request(self, request: PageRequest) -> None:
        request.query[self.cursor_param] = self.cursor
