"""``Link`` header pagination (RFC 8288), as GitHub and many REST APIs do it.

A sample response::

    HTTP/1.1 200 OK
    Link: <https://api.acme.test/items?page=3&per_page=50>; rel="next",
          <https://api.acme.test/items?page=9&per_page=50>; rel="last"

    [{"id": 101}, {"id": 102}]

Usage::

    paginate.LinkHeader()             # follows rel="next"
    paginate.LinkHeader(rel="older")  # or any other relation

The next request goes to the linked URL, query included; no such link means the last page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from splice.errors import InvalidInput
from splice.paginate._base import BasePaginator, PageRequest, PageResponse, follow, loop_error

_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,\s=]+(?:\s*=\s*(?:\"(?:[^\"\\]|\\.)*\"|[^;,]*))?)*)")
_PARAM = re.compile(r";\s*([^;,\s=]+)(?:\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^;,]*))?")


@dataclass(slots=True)
class LinkHeader(BasePaginator):
    """Follow the ``Link`` header's URL whose ``rel`` includes ``rel`` (case-insensitive)."""

    rel: str = "next"
    next_url: str | None = field(default=None, init=False, repr=False, compare=False)
    seen: set[str] = field(default_factory=set, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        BasePaginator.__post_init__(self)
        if not self.rel:
            raise InvalidInput("LinkHeader needs a rel")

    def advance(self, response: PageResponse, items: list[Any]) -> None:
        self.seen.add(response.url)
        target = parse_links(_link_values(response.headers)).get(self.rel.lower())
        if not target:
            self.has_next_page = False
            return
        target = urljoin(response.url, target)
        if target in self.seen:
            raise loop_error("next link", target, response, "the API links a page to itself")
        self.next_url = target

    def update_request(self, request: PageRequest) -> None:
        if self.next_url is not None:
            follow(request, self.next_url, self.next_url)


def parse_links(header: str) -> dict[str, str]:
    """``{rel: url}`` for every link in a ``Link`` header value; the first link wins per rel."""
    links: dict[str, str] = {}
    for match in _LINK.finditer(header):
        url = match.group(1).strip()
        for name, value in _PARAM.findall(match.group(2)):
            if name.lower() != "rel":
                continue
            for rel in value.strip().strip('"').lower().split():
                links.setdefault(rel, url)
    return links


def _link_values(headers: Mapping[str, str]) -> str:
    # items() also yields every repeated header of a multidict
    return ", ".join(value for name, value in headers.items() if name.lower() == "link")
