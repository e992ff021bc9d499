"""Next-URL pagination: the body holds the URL of the next page.

A sample response::

    {
        "results": [{"id": 1}, {"id": 2}],
        "paging": {"next": "https://api.acme.test/v2/contacts?after=2&limit=100"}
    }

Usage::

    paginate.NextUrl("paging.next", items_path="results")

The URL may be relative to the page's URL (``"/v2/contacts?after=2"``, ``"?page=3"``); the next
request takes its query from it. No URL (missing, null or empty) means the last page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from splice.errors import InvalidInput
from splice.paginate._base import (
    MISSING,
    BasePaginator,
    PageRequest,
    PageResponse,
    follow,
    lookup,
    loop_error,
)


@dataclass(slots=True)
class NextUrl(BasePaginator):
    """Follow the URL at the dotted ``path`` in the body."""

    path: str
    next_url: str | None = field(default=None, init=False, repr=False, compare=False)
    seen: set[str] = field(default_factory=set, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        BasePaginator.__post_init__(self)
        if not self.path:
            raise InvalidInput("NextUrl needs the path of the next URL in the body")

    def advance(self, response: PageResponse, items: list[Any]) -> None:
        self.seen.add(response.url)
        target = lookup(response.data, self.path)
        if target is MISSING or target in (None, ""):
            self.has_next_page = False
            return
        target = urljoin(response.url, str(target))
        if target in self.seen:
            raise loop_error("next URL", target, response, f"check what {self.path!r} holds")
        self.next_url = target

    def update_request(self, request: PageRequest) -> None:
        if self.next_url is not None:
            follow(request, self.next_url, self.next_url)
