"""Connections: status with the provider's message, test, re-authorise by a connect link, metadata, delete.

Credentials are never rendered: a connection shows its credential field names only, as the
REST API does (``Connection.public``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from splice.errors import SpliceError
from splice.ui._auth import CsrfChecked, Viewer, runtime
from splice.ui._render import go, page

router = APIRouter()


@router.get("/connections")
async def connections_page(request: Request, caller: Viewer) -> Response:
    found = [c.public() for c in await runtime(request).connections.list() if caller.sees(c.integration, c.id)]
    return page(request, "connections.html", connections=found)


@router.get("/connections/{integration}/{connection_id}")
async def connection_page(request: Request, caller: Viewer, integration: str, connection_id: str) -> Response:
    caller.check(integration, connection_id)
    conn = await runtime(request).connections.get(integration, connection_id)
    return page(request, "connection.html", conn=conn.public())


@router.post("/connections/{integration}/{connection_id}/test", dependencies=[CsrfChecked])
async def test(request: Request, caller: Viewer, integration: str, connection_id: str) -> Response:
    caller.check(integration, connection_id)
    rt = runtime(request)
    try:
        result, failure = await rt.connections.test(integration, connection_id), None
    except SpliceError as exc:
        result, failure = None, exc
    conn = await rt.connections.get(integration, connection_id)
    return page(request, "connection.html", conn=conn.public(), tested=result, failure=failure)


@router.post("/connections/{integration}/{connection_id}/connect", dependencies=[CsrfChecked])
async def reauthorise(request: Request, caller: Viewer, integration: str, connection_id: str) -> Response:
    """A one-time connect link: whoever opens it grants access again (the provider's OAuth page)."""
    caller.check(integration, connection_id, write=True)
    rt = runtime(request)
    conn = await rt.connections.get(integration, connection_id)
    try:
        pending = await rt.connect.prepare(integration, connection_id, credentials={}, config=None, return_to=None)
        link, failure = await rt.connect.create_session(pending, str(request.base_url).removesuffix("ui/")), None
    except SpliceError as exc:
        link, failure = None, exc
    return page(request, "connection.html", conn=conn.public(), link=link, failure=failure)


@router.post("/connections/{integration}/{connection_id}/delete", dependencies=[CsrfChecked])
async def delete(request: Request, caller: Viewer, integration: str, connection_id: str) -> Response:
    caller.check(integration, connection_id, write=True)
    await runtime(request).connections.delete(integration, connection_id)
    return go(request, "/connections")
