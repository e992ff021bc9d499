"""Flows: the list, and each flow drawn as its trigger and its steps (branches and loops nested)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from splice.ui._auth import Viewer, runtime
from splice.ui._render import page

router = APIRouter()


@router.get("/flows")
async def flows_page(request: Request, caller: Viewer) -> Response:
    flows = [f.document() for f in await runtime(request).flows.list() if caller.sees(f.integration)]
    return page(request, "flows.html", flows=flows)


@router.get("/flows/{flow_id}")
async def flow_page(request: Request, caller: Viewer, flow_id: str) -> Response:
    flow = await runtime(request).flows.get(flow_id)
    caller.check(flow.integration)
    return page(request, "flow.html", flow=flow.document())
