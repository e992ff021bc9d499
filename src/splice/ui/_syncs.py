"""Syncs: each sync × connection with its schedule, last and next run and live progress; trigger,
pause, resume and reset. The table refreshes itself every two seconds while the page is open."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from starlette.responses import Response

from splice.errors import SpliceError
from splice.ui._auth import CsrfChecked, Viewer, runtime
from splice.ui._render import live_page

router = APIRouter()
ACTIONS = ("trigger", "pause", "resume", "reset")


async def _rows(request: Request, caller: Viewer) -> list[dict[str, object]]:
    """The rows this caller sees. Each carries `actions_id`: the id under which the row's buttons survive
    the table's refresh (`hx-preserve`), so a click landing while the rows are swapped is not lost; it
    names the paused state too, so the Pause/Resume button is replaced when that changes."""
    rows = await runtime(request).syncs.list()
    seen = [dict(r) for r in rows if caller.sees(r["sync"].split(".", 1)[0], r["connection"])]
    for r in seen:
        key = f"{r['sync']}\0{r['connection']}\0{bool(r.get('paused'))}".encode()
        r["actions_id"] = "actions-" + hashlib.sha256(key).hexdigest()[:16]
    return seen


@router.get("/syncs")
async def syncs_page(request: Request, caller: Viewer) -> Response:
    return live_page(request, "syncs.html", syncs=await _rows(request, caller))


@router.post("/syncs/{integration}/{sync}/{connection_id}/{action}", dependencies=[CsrfChecked])
async def act(
    request: Request, caller: Viewer, integration: str, sync: str, connection_id: str, action: str
) -> Response:
    caller.check(integration, connection_id, write=True)
    service, name, notice, failure = runtime(request).syncs, f"{integration}.{sync}", None, None
    try:
        if action == "trigger":
            await service.trigger(name, connection_id)
            notice = f"{name} queued for {connection_id}"
        elif action in ("pause", "resume"):
            await getattr(service, action)(name, connection_id)
            notice = f"{name} {action}d for {connection_id}"
        elif action == "reset":
            done = await service.reset(name, connection_id)
            notice = f"{name} reset for {connection_id}: {done['records_deleted']} records deleted"
        else:
            return Response(status_code=404)
    except SpliceError as exc:
        failure = exc
    return live_page(request, "syncs.html", syncs=await _rows(request, caller), notice=notice, failure=failure)
