"""Runs: the list (filtered, keyset-paged, refreshed in place) and one run's page, with retries.

The list asks the store exactly what ``GET /runs`` asks it, with the token's limits in the
query; one run is found through ``visible_run``, the REST API's own check.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from splice.errors import InvalidInput
from splice.runtime import Runtime
from splice.server._auth import Caller
from splice.server.routes.runs import scope_filters, split_script, visible_run
from splice.store import RUN_STATUSES, RunRecord
from splice.ui._auth import CsrfChecked, Viewer, runtime
from splice.ui._render import go, live_page, page

router = APIRouter()
PAGE = 50
KINDS = ("action", "sync", "trigger", "flow", "export", "import")
#: the list's time filter: runs created within the last ...
SINCE = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
Text = Annotated[str, Query(max_length=257)]


def _filters(script: str, connection: str, status: str, kind: str, since: str) -> dict[str, Any] | None:
    names = split_script(None, script or None)
    if names is None:
        return None
    if status and status not in RUN_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(RUN_STATUSES)}")
    window = SINCE.get(since)
    return {
        "integration": names[0], "script": names[1], "connection_id": connection or None,
        "status": status or None, "kind": kind or None,
        "since": datetime.now(UTC) - window if window else None,
    }  # fmt: skip


@router.get("/runs")
async def runs_page(
    request: Request, caller: Viewer, script: Text = "", connection: Text = "", status: Text = "", kind: Text = "",
    since: Text = "", before: Text = "",
) -> Response:  # fmt: skip
    """Newest first, ``PAGE`` at a time; the rows refresh themselves (:func:`live_page`)."""
    filters = _filters(script, connection, status, kind, since)
    rows: list[RunRecord] = []
    if filters is not None:
        rows = await runtime(request).runs.find(**filters, **scope_filters(caller), limit=PAGE + 1,
                                                before_id=before or None)  # fmt: skip
    query = {"script": script, "connection": connection, "status": status, "kind": kind, "since": since}
    return live_page(request, "runs.html", runs=rows[:PAGE], more=len(rows) > PAGE, query=query, before=before,
                     statuses=RUN_STATUSES, kinds=KINDS, windows=tuple(SINCE))  # fmt: skip


async def run_view(rt: Runtime, caller: Caller, run_id: str) -> dict[str, Any]:
    """What the run page shows: the run, its attempts and, for a flow, its steps in order."""
    run = await visible_run(rt, caller, run_id)
    scope = scope_filters(caller)
    attempts = await rt.runs.find(job_id=run.job_id, limit=100, **scope) if run.job_id else [run]
    steps = in_order(await rt.runs.find(parent_id=run.id, limit=10_000)) if run.kind == "flow" else []
    errors = await rt.runs.errors(run.id, status="open", **scope) if run.kind == "import" else []
    times = _times(steps)
    span = _span(times)
    views = [step_view(s, times.get(s.id), span) for s in steps]
    return {"run": run, "attempts": attempts, "steps": views, "record_errors": errors}


Times = dict[str, tuple[datetime, datetime]]


def _times(steps: list[RunRecord]) -> Times:
    """When each step run started and ended. A loop's or a branch's row is written when it ends, so
    it spans the steps under it (keys ``"Each[2]/…"``, ``"Route/…"``) rather than its own row."""
    own: Times = {}
    for step in steps:
        start = step.started_at or step.created_at
        if start is None:
            continue
        end = step.finished_at or (
            start + timedelta(milliseconds=step.duration_ms) if step.duration_ms is not None else datetime.now(UTC)
        )
        own[step.id] = (start, max(start, end))
    times = dict(own)
    for step in steps:
        key = step.step or ""
        under = [own[s.id] for s in steps if s.id in own and (s.step or "").startswith((key + "[", key + "/"))]
        if under and step.id in own:
            times[step.id] = (min(t[0] for t in under), max([t[1] for t in under] + [own[step.id][1]]))
    return times


def _span(times: Times) -> tuple[datetime, float] | None:
    """Where the flow run's timeline starts and how long it is (ms): its first step's start to its
    last step's end; None with no timed steps."""
    if not times:
        return None
    begin = min(t[0] for t in times.values())
    return begin, max(1.0, max((t[1] - begin).total_seconds() * 1000 for t in times.values()))


def _top(key: str) -> str:
    """The top-level step a key belongs to: ``"Each order[2]/Check order"`` → ``"Each order"``."""
    return key.split("/")[0].split("[")[0]


def in_order(steps: list[RunRecord]) -> list[RunRecord]:
    """Step runs in the flow's order, as ``splice runs show`` lists them: each top-level step
    where it first started, a loop's or a branch's steps under it (a loop ends after its items)."""
    order: dict[str, int] = {}
    for child in sorted(steps, key=lambda r: r.created_at):
        order.setdefault(_top(child.step or ""), len(order))

    def position(child: RunRecord) -> tuple[int, int, datetime, str]:
        key = child.step or ""
        return order[_top(key)], int(key != _top(key)), child.created_at, key

    return sorted(steps, key=position)


def step_view(
    step: RunRecord, times: tuple[datetime, datetime] | None = None, span: tuple[datetime, float] | None = None
) -> dict[str, Any]:
    """A step run as the timeline draws it: indented by how deep in branches and loops its key is,
    with a bar placed by when it started and ended (``times``) within the run's ``span``, in
    percentages of it (see :func:`_times` and :func:`_span`)."""
    key = step.step or step.script
    depth = key.count("/")
    name = key.rsplit("/", 1)[-1]
    where = key.split("/")[0].removeprefix(_top(key)) if depth else ""
    bar, took = None, step.duration_ms
    if times is not None and span is not None:
        (start, end), (begin, total) = times, span
        offset = (start - begin).total_seconds() * 1000
        length = (end - start).total_seconds() * 1000
        left = min(100.0, max(0.0, 100 * offset / total))
        width = min(100.0 - left, max(0.5, 100 * length / total))
        bar = {"left": round(left, 2), "width": round(width, 2), "offset_ms": offset}
        if step.kind in ("branch", "for_each"):  # its own row is written in an instant, at the end
            took = length
    return {"run": step, "key": key, "depth": depth, "name": name, "item": where, "bar": bar, "took": took}


@router.get("/runs/{run_id}")
async def run_page(request: Request, caller: Viewer, run_id: str, q: Text = "") -> Response:
    rt = runtime(request)
    view = await run_view(rt, caller, run_id)
    lines = await rt.runs.logs(run_id=view["run"].id, text=q or None, limit=1000, latest=True,
                               **scope_filters(caller))  # fmt: skip
    last_seq = lines[-1].seq if lines else 0
    return page(request, "run.html", **view, lines=lines, last_seq=last_seq, q=q)


@router.post("/runs/{run_id}/retry", dependencies=[CsrfChecked])
async def retry(
    request: Request, caller: Viewer, run_id: str, from_step: Annotated[str, Form(max_length=512)] = ""
) -> Response:
    """Retry a failed flow run from ``from_step`` (default: the step that failed); show the new run."""
    rt, old = await _writable_run(request, caller, run_id)
    new = await rt.flows.retry(old.id, from_step=from_step or None, background=True)
    return go(request, f"/runs/{new.id}")


@router.post("/runs/{run_id}/errors/retry", dependencies=[CsrfChecked])
async def retry_errors(request: Request, caller: Viewer, run_id: str) -> Response:
    """Retry an import run's errored records alone, each from the stage it failed at."""
    rt, old = await _writable_run(request, caller, run_id)
    answers = await rt.imports.retry_errors(old.id)
    target = answers[0]["run_id"] if answers else old.id
    return go(request, f"/runs/{target}")


async def _writable_run(request: Request, caller: Caller, run_id: str) -> tuple[Runtime, RunRecord]:
    """The run ``run_id``, when the token may see it (else 404) and write (else 403: a read-only token)."""
    rt = runtime(request)
    run = await visible_run(rt, caller, run_id)
    caller.check(run.integration, run.connection_id, write=True)
    return rt, run
