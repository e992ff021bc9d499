"""``GET /records/{integration}/{model}``: a connection's synced records, one keyset page at a time.

To read only what changed since last time, keep the last record's ``_splice.cursor`` and pass
it as ``cursor``; ``next_cursor`` is set while more pages follow. A page costs the same however
deep the cursor is (no OFFSET).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from splice.errors import InvalidInput
from splice.server._auth import CallerDep, RuntimeDep
from splice.server._errors import ERROR_RESPONSES

router = APIRouter(prefix="/records", tags=["records"], responses=ERROR_RESPONSES)
FILTERS = {"added", "updated", "deleted"}


class RecordsPage(BaseModel):
    records: list[dict[str, Any]]
    next_cursor: str | None


@router.get("/{integration}/{model}", summary="Read synced records")
async def read_records(
    integration: str,
    model: str,
    rt: RuntimeDep,
    caller: CallerDep,
    connection_id: str = Query(min_length=1, max_length=128),
    cursor: str | None = Query(default=None, max_length=512),
    modified_after: datetime | None = None,
    filter: str | None = Query(default=None, description="comma-separated: added,updated,deleted"),
    ids: str | None = Query(default=None, description="comma-separated record ids"),
    limit: int = Query(default=100, ge=1, le=10_000),
) -> RecordsPage:
    caller.check(integration, connection_id)
    wanted = None
    if filter is not None:
        wanted = {part.strip().lower() for part in filter.split(",") if part.strip()}
        if not wanted or wanted - FILTERS:
            raise InvalidInput(f"filter={filter!r}: use a comma-separated list of added, updated, deleted")
    id_list = [part for part in ids.split(",") if part] if ids is not None else None
    page = await rt.records.read(
        integration, model, connection=connection_id, cursor=cursor, modified_after=modified_after,
        filter=wanted, ids=id_list, limit=limit,
    )  # fmt: skip
    return RecordsPage(records=page.records, next_cursor=page.next_cursor)
