"""Page values and the paginator contract.

splice writes its own paginators because none of the libraries that have them (dlt, the
singer SDK, API clients) offer I/O-free ones that a runner can drive across a process boundary.

A paginator never sends anything. For each :func:`~splice.paginate.iterate_pages` run it is
copied with :meth:`BasePaginator.fresh`, writes the first page's parameters with
:meth:`~BasePaginator.init_request`, reads each :class:`PageResponse` with
:meth:`~BasePaginator.extract_items` and :meth:`~BasePaginator.update_state`, and writes the
next position with :meth:`~BasePaginator.update_request` while ``has_next_page`` holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

from splice.errors import InvalidInput, PaginationError

#: where to look for items when no ``items_path`` is given, in this order
ITEM_KEYS = ("data", "items", "results", "records", "entries")
MISSING: Any = object()


@dataclass(slots=True)
class PageRequest:
    """What the next page request should be."""

    path: str  # relative path or absolute URL
    query: dict[str, Any]
    data: Any = None


@dataclass(slots=True)
class PageResponse:
    """What came back for one page."""

    status: int
    headers: Mapping[str, str]  # case-insensitive mapping
    data: Any  # parsed JSON body
    url: str  # absolute URL that was requested (with query)


@dataclass(slots=True, kw_only=True)
class BasePaginator:
    """Settings and last-page rules every strategy shares.

    * an empty page is the last one, and so is a page shorter than ``limit`` (when known);
    * ``stop_path`` / ``stop_value``: stop when the body's value at ``stop_path`` equals
      ``stop_value`` (``None`` also matches a missing value), e.g. ``stop_path="has_more",
      stop_value=False``;
    * ``stop_status``: a status (or several) meaning "no more pages", e.g. 404; that page is
      not yielded;
    * ``max_pages``: fetch at most this many pages.
    """

    items_path: str | None = None
    stop_path: str | None = None
    stop_value: Any = None
    stop_status: int | Collection[int] | None = None
    max_pages: int | None = None
    has_next_page: bool = field(default=True, init=False, repr=False, compare=False)
    pages: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.stop_status, int):
            self.stop_status = (self.stop_status,)
        elif self.stop_status is not None:
            self.stop_status = tuple(self.stop_status)
        check_positive("max_pages", self.max_pages)

    def fresh(self) -> Self:
        """A new paginator with the same settings and no state (one per ``paginate()`` call)."""
        settings = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        return type(self)(**settings)

    def init_request(self, request: PageRequest) -> None:
        """Write the first page's parameters (limit, start position) into ``request``."""

    def extract_items(self, response: PageResponse) -> list[Any]:
        """The page's items: at ``items_path``, or found by :func:`find_items`."""
        if self.items_path is None:
            return find_items(response)
        value = lookup(response.data, self.items_path)
        if value is None:
            return []
        if not isinstance(value, list):
            found = "nothing" if value is MISSING else f"a {type(value).__name__}"
            raise PaginationError(
                f"expected a list of items at items_path {self.items_path!r}, found {found}",
                details={"status": response.status, "items_path": self.items_path},
            )
        return value

    def update_state(self, response: PageResponse, items: list[Any]) -> None:
        """Apply the last-page rules, then let the strategy compute the next position."""
        self.pages += 1
        self.has_next_page = not self._is_last_page(response, items)
        if self.has_next_page:
            self.advance(response, items)

    def update_request(self, request: PageRequest) -> None:
        """Write the next position (computed by :meth:`update_state`) into ``request``."""
        raise NotImplementedError

    def advance(self, response: PageResponse, items: list[Any]) -> None:
        """Strategy hook: compute the next position; clear ``has_next_page`` when there is none."""
        raise NotImplementedError

    def page_limit(self) -> int | None:
        """The page size the API was asked for, when the strategy knows it."""
        return None

    def is_stop_status(self, status: int | None) -> bool:
        return status is not None and status in (self.stop_status or ())  # type: ignore[operator]

    def _is_last_page(self, response: PageResponse, items: list[Any]) -> bool:
        limit = self.page_limit()
        return (
            not items
            or (limit is not None and len(items) < limit)
            or (self.max_pages is not None and self.pages >= self.max_pages)
            or (self.stop_path is not None and _or_none(lookup(response.data, self.stop_path)) == self.stop_value)
        )


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path ("meta.next", "response.items", "results.0.id"), or MISSING."""
    value = data
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part, MISSING)
        elif isinstance(value, list) and _is_index(part, len(value)):
            value = value[int(part)]
        else:
            return MISSING
        if value is MISSING:
            return MISSING
    return value


def _is_index(part: str, length: int) -> bool:
    return part.lstrip("-").isdigit() and -length <= int(part) < length


def find_items(response: PageResponse) -> list[Any]:
    """The body itself if a list, else its only list-valued key, else the first of ITEM_KEYS."""
    body = response.data
    if body is None:
        return []
    if isinstance(body, list):
        return body
    if isinstance(body, Mapping):
        lists = [key for key, value in body.items() if isinstance(value, list)]
        if len(lists) == 1:
            return body[lists[0]]
        for key in ITEM_KEYS:
            if isinstance(body.get(key), list):
                return body[key]
        keys = ", ".join(map(str, list(body)[:10])) or "none"
        reason = f"a JSON object (keys: {keys})"
    else:
        reason = f"a {type(body).__name__}"
    raise PaginationError(
        f"could not find the list of items in the response, which is {reason}; set items_path",
        details={"status": response.status, "items_path": None},
    )


def follow(request: PageRequest, next_url: str, current_url: str) -> None:
    """Point ``request`` at ``next_url`` (may be relative), taking the query from that URL."""
    parts = urlsplit(urljoin(current_url, next_url))
    request.path = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    query: dict[str, Any] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in query:
            query[name] = value
        elif isinstance(query[name], list):
            query[name].append(value)
        else:
            query[name] = [query[name], value]
    request.query = query


def check_positive(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InvalidInput(f"{name} must be a positive integer, not {value!r}")


def check_number(value: Any, path: str, response: PageResponse) -> float | None:
    """A numeric body value (a total, a page count); None when absent."""
    if value is MISSING or value is None:
        return None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise PaginationError(
        f"expected a number at {path!r}, found {type(value).__name__}",
        details={"status": response.status, "path": path},
    )


def _or_none(value: Any) -> Any:
    return None if value is MISSING else value


def loop_error(what: str, value: Any, response: PageResponse, hint: str) -> PaginationError:
    """The API sent the same position twice: following it would loop forever."""
    return PaginationError(
        f"the API returned the same {what} twice ({str(value)[:100]!r}); stopping to avoid a loop",
        details={"status": response.status, what.replace(" ", "_"): str(value)[:100]},
        hint=hint,
    )
