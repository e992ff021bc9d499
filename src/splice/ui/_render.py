"""Templates and the small filters they use; a template's block renders alone as an htmx fragment."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import Request
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.responses import Response

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


def page(request: Request, name: str, block: str | None = None, status_code: int = 200, **context: Any) -> Response:
    """Render ``name`` (or only its ``block``) with what every page needs: the session's CSRF secret."""
    current = session(request)
    context.setdefault("csrf", current.csrf if current else "")
    context["base"] = request.scope.get("root_path", "")
    return templates.TemplateResponse(request, name, context, block_name=block, status_code=status_code)
