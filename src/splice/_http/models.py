"""Request and response values that auth flows and paginators read and write.

These are plain values, not a client: auth schemes are generators that ``yield`` a
:class:`Request` and receive a :class:`Response` (httpx's auth-flow idea), so they hold no
I/O and are tested with ``next()`` / ``.send()``. The gateway turns them into real HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson
from multidict import CIMultiDict


@dataclass(slots=True)
class Request:
    """An outgoing request. ``url`` has no query string; ``params`` holds the query."""

    method: str
    url: str
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)
    content: bytes | None = None

    @classmethod
    def form(cls, url: str, data: dict[str, str], headers: dict[str, str] | None = None) -> Request:
        """A POST with an ``application/x-www-form-urlencoded`` body (token endpoints)."""
        hdrs: CIMultiDict[str] = CIMultiDict(headers or {})
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        hdrs.setdefault("Accept", "application/json")
        return cls("POST", url, headers=hdrs, content=urlencode(data).encode())

    def set_param(self, name: str, value: str) -> None:
        """Replace every ``name`` query parameter with one ``value``."""
        self.params = [(k, v) for k, v in self.params if k != name]
        self.params.append((name, value))


@dataclass(slots=True)
class Response:
    """A response with its whole body read; ``request`` is the request that produced it."""

    status: int
    headers: CIMultiDict[str]
    content: bytes
    request: Request
    #: the URL with secrets masked, set by the client that sent it (for logs and scripts)
    url: str = ""

    @property
    def text(self) -> str:
        return self.content.decode(_charset(self.headers), errors="replace")

    @property
    def is_json(self) -> bool:
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        return ctype == "application/json" or ctype.endswith("+json")

    def json(self) -> Any:
        return orjson.loads(self.content)

    def data(self) -> Any:
        """The parsed body: JSON when the response says so (or looks like it), else text."""
        if not self.content:
            return None
        if self.is_json:
            return self.json()
        try:
            return orjson.loads(self.content)
        except orjson.JSONDecodeError:
            return self.text


def _charset(headers: CIMultiDict[str]) -> str:
    for part in headers.get("Content-Type", "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"
