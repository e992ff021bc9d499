"""The record browser: a connection's synced records by integration and model, a keyset page at a time.

Paging follows ``_splice.cursor`` as ``GET /records`` does, so a page deep in a million
records costs what the first one does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from splice.errors import InvalidInput
from splice.store import RECORD_FILTERS
from splice.ui._auth import Viewer, runtime
from splice.ui._render import page

router = APIRouter()
#: records per page the browser offers
SIZES = (50, 500)
Text = Annotated[str, Query(max_length=512)]


def _models(request: Request, caller: Viewer) -> dict[str, list[str]]:
    """Integration → the models its syncs save, for the ones the token may see."""
    project = runtime(request).project
    found: dict[str, list[str]] = {}
    for name, spec in sorted(project.integrations.items()):
        models = sorted({m.__name__ for s in spec.scripts.values() for m in s.models})
        if models and caller.sees(name):
            found[name] = models
    return found


@router.get("/records")
async def records_page(
    request: Request, caller: Viewer, integration: Text = "", model: Text = "", connection: Text = "",
    cursor: Text = "", filter: Text = "", modified_after: Text = "", id: Text = "", size: Text = "",
) -> Response:  # fmt: skip
    rt = runtime(request)
    connections = [c.id for c in await rt.connections.list(integration or None) if caller.sees(c.integration, c.id)]
    query = {"integration": integration, "model": model, "connection": connection, "filter": filter,
             "modified_after": modified_after, "size": _size(size)}  # fmt: skip
    context: dict[str, Any] = {
        "models": _models(request, caller), "connections": connections, "query": query, "filters": RECORD_FILTERS,
        "sizes": SIZES, "records": None, "next_cursor": None, "record": None,
    }  # fmt: skip
    if integration and model and connection:
        caller.check(integration, connection)
        if filter and filter not in RECORD_FILTERS:
            raise InvalidInput(f"filter must be one of {', '.join(RECORD_FILTERS)}")
        after = _time(modified_after) if modified_after else None
        result = await rt.records.read(integration, model, connection=connection, cursor=cursor or None,
                                       modified_after=after, filter={filter} if filter else None,
                                       ids=[id] if id else None, limit=query["size"])  # fmt: skip
        context.update(records=result.records, next_cursor=result.next_cursor, cursor=cursor)
        if id and result.records:
            context["record"] = result.records[0]
    return page(request, "records.html", **context)


def _time(value: str) -> datetime:
    """``modified_after`` as a time, or a clear error naming the field and the form it takes."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"modified after: {value!r} is not an ISO 8601 time",
            details={"field": "modified_after"},
            hint="write it like 2025-01-31T00:00:00Z, or leave it empty",
        ) from None


def _size(value: str) -> int:
    """The page size asked for, when it is one the form offers; else the smallest."""
    return int(value) if value.isdigit() and int(value) in SIZES else SIZES[0]
