"""The pipeline's only way out: an injected HTTP callable (httpx's transport seam, one method).

The pipeline builds requests and reads answers; whoever runs it decides how they travel (the
connection's auth, allowed hosts, retries, rate limits, redaction). The callable answers every
status — a 404 may be an export's last page, a 422 one record's error — and raises only when
nothing came back (the network, a refused host).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """One response. ``headers`` looks names up case-insensitively (a ``CIMultiDict``, say);
    ``url`` is the absolute URL that was requested, query included."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    url: str

    def json(self) -> Any:
        """The body as JSON (None when empty); ``ValueError`` when it is not JSON."""
        return orjson.loads(self.content) if self.content.strip() else None

    def text(self, limit: int | None = None) -> str:
        text = self.content.decode("utf-8", "replace")
        return text if limit is None or len(text) <= limit else text[:limit] + "…"


class Http(Protocol):
    """``await http("GET", "/contacts", query=[("page", "2")], headers={}, body=None)``.

    ``path`` is relative to the connection's base URL, or absolute (the next URL of ``url`` and
    ``linkheader`` paging, with its query in it).
    """

    async def __call__(
        self, method: str, path: str, *, query: list[tuple[str, str]], headers: dict[str, str], body: bytes | None
    ) -> HttpAnswer: ...
