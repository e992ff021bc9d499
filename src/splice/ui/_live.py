"""A run's page, live: its new log lines and its changed status and steps as server-sent events.

The stream polls the store every ``POLL`` seconds for lines after the last one sent (the SSE
``id`` is the line's ``seq``, so a reconnecting browser resumes where it was) and for a change
in the run or its steps. When the run has ended and every line is sent, it says ``done`` and
closes. Lines reach the store within a fraction of a second of ``ctx.log`` (the gateway stores
them ``LOG_DELAY`` after the first pending one), so a line shows about half a second after
the script wrote it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from jinja2_fragments import render_block
from sse_starlette import EventSourceResponse, ServerSentEvent

from splice.runtime import Runtime
from splice.server._auth import Caller
from splice.server.routes.runs import scope_filters
from splice.ui._auth import Viewer, runtime, session
from splice.ui._render import base, templates
from splice.ui._runs import Text, run_view

router = APIRouter()
POLL = 0.25
FINISHED = frozenset({"succeeded", "failed", "timed_out", "cancelled"})


def _signature(view: dict[str, Any]) -> tuple[Any, ...]:
    run = view["run"]
    steps = tuple((s["run"].id, s["run"].status) for s in view["steps"])
    return run.status, run.attempt, run.finished_at, str(run.progress), steps, len(view["attempts"])


def _block(block: str, **context: Any) -> str:
    return render_block(templates.env, "run.html", block, **context)


async def _events(
    request: Request, rt: Runtime, caller: Caller, run_id: str, after: int, text: str | None, csrf: str
) -> AsyncIterator[ServerSentEvent]:
    seen: tuple[Any, ...] | None = None
    prefix = base(request)
    while not await request.is_disconnected():
        view = await run_view(rt, caller, run_id)
        signature = _signature(view)
        lines = await rt.runs.logs(run_id=view["run"].id, after_seq=after, text=text, limit=500,
                                   **scope_filters(caller))  # fmt: skip
        if lines:
            after = lines[-1].seq
            yield ServerSentEvent(_block("lines", lines=lines), event="log", id=str(after))
        if signature != seen:
            seen = signature
            yield ServerSentEvent(_block("live", **view, base=prefix, csrf=csrf), event="run")
        if view["run"].status in FINISHED and len(lines) < 500:
            yield ServerSentEvent("done", event="done")
            return
        await asyncio.sleep(POLL)


@router.get("/runs/{run_id}/events")
async def run_events(
    request: Request, caller: Viewer, run_id: str, after: int = 0, q: Text = ""
) -> EventSourceResponse:
    """``text/event-stream`` of ``log`` (new lines, as HTML), ``run`` (status and steps) and ``done``."""
    resumed = request.headers.get("last-event-id", "")
    after = max(after, int(resumed)) if resumed.isdigit() else after
    current = session(request)
    events = _events(request, runtime(request), caller, run_id, after, q or None, current.csrf if current else "")
    return EventSourceResponse(events, ping=15, headers={"Cache-Control": "no-store"})
