"""``/logs``: search the log lines of runs, or export them as JSON Lines.

Lines come oldest first with a ``seq`` that only grows, so a client follows new lines by
passing the last ``seq`` it saw as ``after_seq``. A limited token only ever gets lines of the
runs it may see (see ``/runs``): its limits are part of the query, not applied afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from splice.runtime import Runtime
from splice.server._auth import Caller, CallerDep, RuntimeDep
from splice.server._errors import ERROR_RESPONSES
from splice.server._truncate import clip
from splice.server.routes.runs import NameQuery, ScriptQuery, scope_filters, split_script
from splice.store import LogRecord

router = APIRouter(prefix="/logs", tags=["logs"], responses=ERROR_RESPONSES)

Level = Literal["debug", "info", "warning", "error"]
#: lines read per query while exporting
EXPORT_BATCH = 1000
_MAX_SEQ = 2**63 - 1
#: errors are JSON even where the answer is JSON Lines (a ``model`` would be documented as the route's media type)
_JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": response["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for status, response in ERROR_RESPONSES.items()
}


class LogOut(BaseModel):
    """One log line of a run; ``fields`` are the structured values logged with it."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    run_id: str
    ts: datetime
    level: Level
    message: str
    fields: dict[str, Any]
    integration: str
    script: str
    connection_id: str | None

    @classmethod
    def of(cls, record: LogRecord) -> LogOut:
        return cls.model_validate(record)

    @classmethod
    def listed(cls, record: LogRecord) -> LogOut:
        """As ``GET /logs`` shows it: ``fields`` over 4,096 bytes of JSON are ``{"_truncated": true, "bytes": N}``."""
        line = cls.of(record)
        line.fields = clip(line.fields)
        return line


class NDJSONResponse(StreamingResponse):
    media_type = "application/x-ndjson"


def _utc(value: datetime | None) -> datetime | None:
    """Aware UTC (naive is taken as UTC); instants beyond year 1..9999 in UTC are clamped, not a 500."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if value.year < 5000 else datetime.max.replace(tzinfo=UTC)


class LogFilters:
    """The query parameters ``GET /logs`` and ``GET /logs/export`` share (a dependency, so both document them)."""

    def __init__(
        self,
        run_id: NameQuery = None,
        integration: NameQuery = None,
        script: ScriptQuery = None,
        connection_id: NameQuery = None,
        level: Annotated[Level | None, Query(description="the minimum level")] = None,
        q: Annotated[
            str | None, Query(min_length=1, max_length=500, description="text the message contains (any case)")
        ] = None,
        since: Annotated[datetime | None, Query(description="ISO 8601; lines at or after it")] = None,
        until: Annotated[datetime | None, Query(description="ISO 8601; lines at or before it")] = None,
        after_seq: Annotated[
            int | None, Query(ge=0, le=_MAX_SEQ, description="the last `seq` seen: only newer lines")
        ] = None,
    ) -> None:
        self.run_id = run_id
        self.names = split_script(integration, script)
        self.connection_id = connection_id
        self.level = level
        self.text = q
        self.since = _utc(since)
        self.until = _utc(until)
        self.after_seq = after_seq

    def query(self, caller: Caller) -> dict[str, Any] | None:
        """Keyword arguments for ``search_logs``; ``None`` when the filters cannot match anything."""
        if self.names is None:
            return None
        return {
            "run_id": self.run_id,
            "integration": self.names[0],
            "script": self.names[1],
            "connection_id": self.connection_id,
            "level": self.level,
            "text": self.text,
            "since": self.since,
            "until": self.until,
            **scope_filters(caller),
        }


@router.get("", summary="Search log lines")
async def search_logs(
    rt: RuntimeDep,
    caller: CallerDep,
    filters: Annotated[LogFilters, Depends()],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    latest: Annotated[
        bool, Query(description="the newest `limit` matches (still oldest first), as a tail shows them")
    ] = False,
) -> list[LogOut]:
    """Matching lines oldest first, at most ``limit``; pass the last ``seq`` as ``after_seq`` for more.

    A line's `fields` over 4,096 bytes of JSON are listed as `{"_truncated": true, "bytes": N}`;
    `GET /logs/export` has them whole.
    """
    query = filters.query(caller)
    if query is None:
        return []
    lines = await rt.runs.logs(**query, after_seq=filters.after_seq, limit=limit, latest=latest)
    return [LogOut.listed(line) for line in lines]


@router.get(
    "/export",
    summary="Export log lines as JSON Lines",
    response_class=NDJSONResponse,
    responses={
        **_JSON_ERRORS,
        200: {
            "description": "JSON Lines: one `LogOut` object per line, oldest first",
            "content": {"application/x-ndjson": {"schema": {"type": "string", "description": "`LogOut` lines"}}},
        },
    },
)
async def export_logs(rt: RuntimeDep, caller: CallerDep, filters: Annotated[LogFilters, Depends()]) -> NDJSONResponse:
    """Every matching line, streamed a batch at a time so an export of millions stays small in memory.

    Without ``until`` the export stops at the lines logged before the request, so it ends
    even while runs keep logging.
    """
    query = filters.query(caller)
    if query is not None and query["until"] is None:
        query["until"] = datetime.now(UTC)
    return NDJSONResponse(_lines(rt, query, filters.after_seq))


async def _lines(rt: Runtime, query: dict[str, Any] | None, after_seq: int | None) -> AsyncIterator[bytes]:
    while query is not None:
        lines = await rt.runs.logs(**query, after_seq=after_seq, limit=EXPORT_BATCH)
        if lines:
            yield b"".join(LogOut.of(line).model_dump_json().encode() + b"\n" for line in lines)
            after_seq = lines[-1].seq
        if len(lines) < EXPORT_BATCH:
            return
