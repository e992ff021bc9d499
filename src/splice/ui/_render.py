"""Templates and the small filters they use; a template's block renders alone as an htmx fragment."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import Request
from jinja2_fragments import render_block
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.responses import RedirectResponse, Response

from splice.ui._auth import session

HERE = Path(__file__).parent
templates = Jinja2Blocks(directory=str(HERE / "templates"))


def pretty(value: Any) -> str:
    """Indented JSON for a ``<pre>``; non-JSON values as their ``str``."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS, default=str).decode()


def when(value: datetime | str | None) -> str:
    """``2025-01-02 10:11:12`` in UTC, readable and sortable."""
    if value is None:
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration(ms: float | None) -> str:
    if ms is None:
        return "–"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


templates.env.filters.update(pretty=pretty, when=when, duration=duration)


#: the request header in which a live table's poll says which rows it shows
ROWS_HEADER = "X-Splice-Rows"


def base(request: Request) -> str:
    """Where the dashboard is mounted (``/ui``): the prefix of every link and redirect of its own."""
    return str(request.scope.get("root_path", ""))


def go(request: Request, path: str) -> RedirectResponse:
    """303 to the dashboard's ``path`` (``"/runs"``): after a form post, the browser GETs it."""
    return RedirectResponse(base(request) + path, status_code=303)


def _with_basics(request: Request, context: dict[str, Any]) -> dict[str, Any]:
    """``context`` and what every page needs: the session's CSRF secret and the dashboard's path."""
    current = session(request)
    context.setdefault("csrf", current.csrf if current else "")
    context["base"] = base(request)
    return context


def page(request: Request, name: str, block: str | None = None, status_code: int = 200, **context: Any) -> Response:
    """Render ``name`` (or only its ``block``)."""
    context = _with_basics(request, context)
    return templates.TemplateResponse(request, name, context, block_name=block, status_code=status_code)


def live_page(request: Request, name: str, **context: Any) -> Response:
    """A page whose table polls itself: its ``live`` block (the ``tbody``) is fetched again every
    two seconds and swapped whole.

    The rows (block ``rows``) are rendered first and their digest goes into the ``tbody``; a poll
    sends it back in ``X-Splice-Rows``, and while the rows are unchanged the answer is 204, which
    htmx swaps nothing for. So keyboard focus and a selection in a table that did not change stay
    where they are, and an idle page costs the server a render, not the browser a reflow.
    """
    context = _with_basics(request, context)
    rows = render_block(templates.env, name, "rows", request=request, **context)
    digest = hashlib.sha256(rows.encode()).hexdigest()[:16]
    shown = request.headers.get(ROWS_HEADER)
    if shown == digest:
        return Response(status_code=204)
    block = "live" if shown is not None else None
    return templates.TemplateResponse(request, name, {**context, "digest": digest}, block_name=block)
