"""An export's paging: Celigo's seven ``paging.method``s, their last-page rules and loop detection.

:class:`Paging` is the declared value. Each method is one small class that never does I/O
(dlt's and the singer SDK's paginators, made stateless): given the state that fetched a page and
what came back, :func:`next_state` says whether there is a next page and what the state for it
is. The state is a plain JSON dict — it is what ``run_virtual_with_paging`` hands back to its
caller as ``paged_export_state`` — so a run can stop after any page and go on later.

The end of the data, checked in this order:

* ``last_page_status_code`` (default 404) answered: the page is empty and the last, not an error;
* an empty page;
* a short page (fewer records than ``page_size``), for ``page`` and ``skip`` only: they compute
  the next position themselves, while the other methods end when the API stops giving one (a
  cursor API may send fewer records than asked for on every page);
* ``last_page_path`` whose value is one of ``last_page_values`` (exact, case-sensitive strings:
  ``true``, ``null`` and ``""`` are written as strings; a missing path is not a match);
* ``max_page_path`` (the total of pages) or ``max_count_path`` (of records), ``page``/``skip``
  only; ``max_page_path`` wins when both are set;
* no next token, URL, ``Link`` relation, path or body.

The same token, URL, path or body twice in a row, or more than ``max_pages`` pages, fails with
``PAGING_LOOP`` instead of looping forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urljoin

from splice.errors import InvalidInput, PaginationError
from splice.resources import _templates
from splice.resources._check import MISSING, Where, as_text, get_path, shown

METHODS = ("body", "linkheader", "page", "relativeuri", "skip", "token", "url")
_COMMON = {
    "method", "last_page_status_code", "last_page_path", "last_page_values", "max_pages",
}  # fmt: skip
_OWN = {
    "page": {"param", "start", "max_page_path", "max_count_path"},
    "skip": {"param", "start", "max_page_path", "max_count_path"},
    "token": {"param", "token", "path", "path_location"},
    "linkheader": {"link_header_relation"},
    "url": {"path"},
    "relativeuri": {"relative_uri"},
    "body": {"body"},
}
MAX_PAGES = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Paging:
    """How an export asks for its next page (see the module docstring for each field's use).

    >>> Paging(method="token", path="meta.next_cursor", param="cursor")
    """

    method: str
    param: str | None = None
    start: int = 0
    token: str | None = None
    path: str | None = None
    path_location: str = "body"
    link_header_relation: str = "next"
    relative_uri: str | None = None
    body: Any = None
    last_page_status_code: int = 404
    last_page_path: str | None = None
    last_page_values: tuple[str, ...] = ()
    max_page_path: str | None = None
    max_count_path: str | None = None
    max_pages: int = MAX_PAGES

    def check(self, where: Where) -> None:
        where.choice(self.method, "paging.method", METHODS, "paging method")
        defaults = Paging(method=self.method)
        for name in _ACCEPTED_FIELDS - _COMMON - _OWN[self.method]:
            if getattr(self, name) != getattr(defaults, name):
                raise where.invalid(f"paging.{name}", f"not used by {self.method} paging ({_takes(self.method)})")
        for name in ("param", "token", "path", "relative_uri", "last_page_path", "max_page_path", "max_count_path"):
            where.optional_string(getattr(self, name), f"paging.{name}")
        where.integer(self.start, "paging.start", 0, 2**31)
        where.integer(self.last_page_status_code, "paging.last_page_status_code", 100, 599)
        where.integer(self.max_pages, "paging.max_pages", 1, 1_000_000)
        where.strings(self.last_page_values, "paging.last_page_values")
        where.choice(self.path_location, "paging.path_location", ("body", "header"), "path location")
        where.string(self.link_header_relation, "paging.link_header_relation")
        required = {"token": "path", "url": "path", "relativeuri": "relative_uri", "body": "body"}.get(self.method)
        if required and getattr(self, required) is None:
            raise where.invalid(f"paging.{required}", f"{self.method} paging needs {required} ({_takes(self.method)})")
        if self.last_page_values and self.last_page_path is None:
            raise where.invalid("paging.last_page_values", "needs last_page_path (where to read the value)")
        _templates.check(self.relative_uri, where, "paging.relative_uri")
        _templates.check(where.json_value(self.body, "paging.body"), where, "paging.body")

    def to_json(self) -> dict[str, Any]:
        defaults = Paging(method=self.method)
        data: dict[str, Any] = {"method": self.method}
        for name in _FIELD_ORDER[1:]:
            value = getattr(self, name)
            if value != getattr(defaults, name):
                data[name] = list(value) if isinstance(value, tuple) else value
        return data

    @classmethod
    def from_json(cls, data: Any, where: Where) -> Paging:
        where.only(data, "paging", _ACCEPTED_FIELDS)
        method = where.choice(data.get("method"), "paging.method", METHODS, "paging method")
        where.only(data, "paging", _COMMON | _OWN[method])
        values = dict(data)
        if "last_page_values" in values:
            values["last_page_values"] = where.strings(values["last_page_values"], "paging.last_page_values")
        paging = cls(**values)
        paging.check(where)
        return paging


_FIELD_ORDER = [
    "method", "param", "start", "token", "path", "path_location", "link_header_relation", "relative_uri", "body",
    "last_page_status_code", "last_page_path", "last_page_values", "max_page_path", "max_count_path", "max_pages",
]  # fmt: skip
_ACCEPTED_FIELDS = set(_FIELD_ORDER)


def _takes(method: str) -> str:
    return f"{method} paging takes {', '.join(sorted(_COMMON | _OWN[method]))}"


# --- the state -----------------------------------------------------------------------------


def first_state(paging: Paging | None, delta: dict[str, Any] | None) -> dict[str, Any]:
    """The state that fetches page 0."""
    start = paging.start if paging else 0
    variables = {
        "page": start if paging and paging.method == "page" else None,
        "skip": start if paging and paging.method == "skip" else None,
        "token": paging.token if paging and paging.method == "token" else None,
    }
    return {"page_index": 0, "paging": variables, "url": None, "path": None, "body": None,
            "previous_page": None, "delta": delta}  # fmt: skip


_STATE_KEYS = {"page_index", "paging", "url", "path", "body", "previous_page", "delta"}


def check_state(state: Any, where: Where) -> dict[str, Any]:
    """A state handed back by a caller: refused unless it has this module's shape."""
    if (
        not isinstance(state, Mapping)
        or set(state) != _STATE_KEYS
        or not isinstance(state["page_index"], int)
        or not isinstance(state["paging"], Mapping)
        or set(state["paging"]) != {"page", "skip", "token"}
    ):
        raise InvalidInput(
            f"{where}: paged_export_state is not a state this export handed out: {shown(state)}",
            code="INVALID_CURSOR",
            hint="pass back the paged_export_state of the previous page unchanged",
        )
    return dict(state)


@dataclass(frozen=True, slots=True)
class Fetched:
    """What one page's request brought back, as the paging rules read it."""

    status: int
    headers: Mapping[str, str]
    body: Any
    url: str
    records: list[Any]


def is_last_page(paging: Paging | None, page_size: int, state: Mapping[str, Any], page: Fetched) -> bool:
    """Whether the page just fetched ends the data (every rule but the method's own next value)."""
    if paging is None or not page.records:
        return True
    if paging.method in ("page", "skip") and len(page.records) < page_size:
        return True
    if paging.last_page_path is not None:
        value = get_path(page.body, paging.last_page_path)
        if value is not MISSING and as_text(value) in paging.last_page_values:
            return True
    return paging.method in ("page", "skip") and _past_max(paging, page_size, state, page)


def _past_max(paging: Paging, page_size: int, state: Mapping[str, Any], page: Fetched) -> bool:
    variables = state["paging"]
    pages_done = (
        variables["page"] - paging.start + 1
        if paging.method == "page"
        else (variables["skip"] - paging.start) // page_size + 1
    )
    if paging.max_page_path is not None:
        total = _number(get_path(page.body, paging.max_page_path))
        return total is not None and pages_done >= total
    if paging.max_count_path is not None:
        total = _number(get_path(page.body, paging.max_count_path))
        seen = (pages_done - 1) * page_size + len(page.records)
        return total is not None and seen >= total
    return False


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not MISSING and value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


# --- one class per method ------------------------------------------------------------------


class BasePagingMethod:
    """What changes from one state to the next; ``key`` is the state's field checked for loops."""

    key: ClassVar[str | None] = None

    def advance(self, paging: Paging, page: Fetched, state: Mapping[str, Any], context: dict[str, Any],
                where: Where) -> dict[str, Any] | None:  # fmt: skip
        """The changed fields of the next state, or None when there is no next page."""
        raise NotImplementedError


class PageMethod(BasePagingMethod):
    def advance(self, paging, page, state, context, where):  # type: ignore[no-untyped-def]
        return {"paging": {**state["paging"], "page": state["paging"]["page"] + 1}}


class SkipMethod(BasePagingMethod):
    def advance(self, paging, page, state, context, where):  # type: ignore[no-untyped-def]
        size = context["export"]["page_size"]
        return {"paging": {**state["paging"], "skip": state["paging"]["skip"] + size}}


class TokenMethod(BasePagingMethod):
    key = "token"

    def advance(self, paging, page, state, context, where):  # type: ignore[no-untyped-def]
        path = paging.path or ""
        token = _header(page.headers, path) if paging.path_location == "header" else get_path(page.body, path)
        if token is MISSING or token is None or token == "":
            return None
        return {"paging": {**state["paging"], "token": as_text(token)}}


class LinkHeaderMethod(BasePagingMethod):
    key = "url"

    def advance(self, paging, page, state, context, where):  # type: ignore[no-untyped-def]
        link = _header(page.headers, "link")
        target = _link_target(link, paging.link_header_relation) if link else None
        return {"url": urljoin(page.url, target)} if target else None


class UrlMethod(BasePagingMethod):
    key = "url"

    def advance(self, paging, page, state, context, where):  # type: ignore[no-untyped-def]
        target = get_path(page.body, paging.path or "")
        if not isinstance(target, str) or not target:
            return None
        return {"url": urljoin(page.url, target)}


class RelativeUriMethod(BasePagingMethod):
    key = "path"

    def advance(self, paging, page, state, context, where):  # type: ignore[no-untyped-def]
        path = _templates.render(paging.relative_uri or "", context, where, "paging.relative_uri").strip()
        return {"path": path} if path else None


class BodyMethod(BasePagingMethod):
    key = "body"

    def advance(self, paging, page, state, context, where):  # type: ignore[no-untyped-def]
        body = _templates.render_value(paging.body, context, where, "paging.body")
        if body is None or (isinstance(body, str) and not body.strip()):
            return None
        return {"body": body}


PAGING_METHODS: dict[str, BasePagingMethod] = {
    "page": PageMethod(), "skip": SkipMethod(), "token": TokenMethod(), "linkheader": LinkHeaderMethod(),
    "url": UrlMethod(), "relativeuri": RelativeUriMethod(), "body": BodyMethod(),
}  # fmt: skip


def next_state(
    paging: Paging | None,
    page_size: int,
    state: Mapping[str, Any],
    page: Fetched,
    context: dict[str, Any],
    where: Where,
) -> dict[str, Any] | None:
    """The state for the page after ``page``, or None when ``page`` is the last one."""
    if paging is None or is_last_page(paging, page_size, state, page):
        return None
    method = PAGING_METHODS[paging.method]
    changes = method.advance(paging, page, state, context, where)
    if changes is None:
        return None
    index = state["page_index"] + 1
    key = method.key
    if key is not None:
        new = changes["paging"]["token"] if key == "token" else changes[key]
        old = state["paging"]["token"] if key == "token" else state[key]
        if new == old or (key == "url" and new == page.url):
            raise _loop(where, index, f"the same {_NAMES[key]} twice in a row: {shown(new)}", key, new)
    if index >= paging.max_pages:
        raise _loop(where, index, f"more than max_pages ({paging.max_pages:,}) pages", None, None)
    return {**state, "page_index": index, **changes}


_NAMES = {"token": "next token", "url": "next URL", "path": "next relative URI", "body": "next body"}


def _loop(where: Where, index: int, what: str, key: str | None, value: Any) -> PaginationError:
    return PaginationError(
        f"{where}: paging stopped at page {index}: {what}; the API would be asked for the same page forever",
        code="PAGING_LOOP",
        details={"resource": where.kind, "name": where.name, "page_index": index, "repeated": value, "what": key},
        hint="check paging's path (does it point at the next value?) or raise paging.max_pages",
    )


def _header(headers: Mapping[str, str], name: str) -> Any:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return MISSING if value is None else value


def _link_target(header: str, relation: str) -> str | None:
    """The URL of ``rel="relation"`` in a ``Link`` header (RFC 8288, commas inside <> allowed)."""
    for part in header.split(","):
        if "<" not in part or ">" not in part:
            continue
        url, _, params = part.strip().partition(">")
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "rel" and relation in value.strip().strip('"').split():
                return url.lstrip("<").strip()
    return None
