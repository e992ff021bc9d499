"""``/connect`` and ``/oauth/callback``: a customer grants OAuth access in their browser.

The app (bearer token) asks for a connect link, ``POST /connect/sessions``, and sends its
customer there; the browser has no token, so the link's signed single-use session is the
credential. An API caller may instead ``GET /connect/{integration}?connection_id=...`` with its
bearer token and follow the 302 itself. The provider sends the browser back to
``/oauth/callback``, which stores the tokens and sends it on to ``return_to`` with
``status=connected`` or ``status=error&error=...`` (without ``return_to``: a small page, HTML
for browsers, JSON otherwise). The flow itself is in :mod:`splice.services.connect`.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from splice.errors import InvalidInput, SpliceError
from splice.server._auth import CallerDep, _bearer, caller
from splice.server._bodies import JsonBody
from splice.server._errors import ERROR_RESPONSES, error_response
from splice.services.connect import ConnectFlow, Outcome, with_query

logger = logging.getLogger("splice.server")
router = APIRouter(tags=["connect"], responses=ERROR_RESPONSES)
Json = dict[str, Any]
#: the browser-facing answers carry one-time secrets in their URLs: never cache, never leak via Referer
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def connect_flow(request: Request) -> ConnectFlow:
    """The runtime's :class:`ConnectFlow` (``rt.connect``)."""
    return request.app.state.runtime.connect  # type: ignore[no-any-return]


FlowDep = Annotated[ConnectFlow, Depends(connect_flow)]


class NewSession(JsonBody):
    integration: str = Field(min_length=1, max_length=128)
    connection_id: str = Field(min_length=1, max_length=128, description="your id for it, e.g. your customer's id")
    config: Json | None = Field(default=None, description="the connection's config; default: the existing one's")
    credentials: Json = Field(
        default_factory=dict,
        description="the OAuth app (client_id, client_secret) when it is per connection; "
        "default: the existing connection's",
    )
    return_to: str | None = Field(
        default=None,
        max_length=2048,
        description="where the browser goes afterwards, with integration, connection_id and "
        "status=connected or status=error&error=...&error_description=...",
    )


class SessionOut(BaseModel):
    url: str = Field(description="send the customer's browser here; it works once")
    expires_at: datetime


@router.post("/connect/sessions", status_code=201, summary="Create a connect link for a customer's browser")
async def create_connect_session(body: NewSession, request: Request, flow: FlowDep, who: CallerDep) -> SessionOut:
    who.check(body.integration, body.connection_id, write=True)
    pending = await flow.prepare(
        body.integration,
        body.connection_id,
        credentials=body.credentials,
        config=body.config,
        return_to=body.return_to,
    )
    link = await flow.create_session(pending, str(request.base_url))
    return SessionOut(url=link.url, expires_at=link.expires_at)


@router.get(
    "/connect/{integration}",
    status_code=302,
    response_class=RedirectResponse,
    summary="Send the browser to the provider to authorize",
    responses={302: {"description": "to the provider's authorization page"}},
)
async def start_connect(
    integration: str,
    request: Request,
    flow: FlowDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: str | None = None,
    connection_id: str | None = None,
    return_to: str | None = None,
) -> Response:
    """With ``session`` (a link from ``POST /connect/sessions``) no token is needed; otherwise
    a bearer token and ``connection_id`` (the connection's OAuth app and config are used)."""
    base = str(request.base_url)
    if session is not None:
        try:
            pending = await flow.open_session(integration, session)
            url = await flow.authorization_url(pending, base)
        except SpliceError as exc:
            return error_page(request, exc)
        return RedirectResponse(url, status_code=302, headers=_PRIVATE)
    who = await caller(request, bearer)
    if not connection_id:
        raise InvalidInput(
            "connect needs a session (a link from POST /connect/sessions) or a connection_id",
            details={"field": "connection_id"},
        )
    who.check(integration, connection_id, write=True)
    pending = await flow.prepare(integration, connection_id, return_to=return_to)
    return RedirectResponse(await flow.authorization_url(pending, base), status_code=302, headers=_PRIVATE)


@router.get(
    "/oauth/callback",
    status_code=302,
    response_class=RedirectResponse,
    summary="Where the provider sends the browser back (no token: the signed state is checked)",
    responses={
        200: {"description": "connected (no return_to): an HTML page for browsers, else JSON"},
        302: {"description": "to return_to with status=connected or status=error"},
        502: {"description": "the token endpoint refused the code"},
    },
)
async def finish_connect(
    request: Request,
    flow: FlowDep,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    try:
        outcome = await flow.finish(state, code=code, error=error, error_description=error_description)
    except SpliceError as exc:
        logger.info("OAuth callback refused: %s", exc.message)
        return error_page(request, exc)
    if outcome.error is not None:
        # the browser's page or return_to is the only other place this shows up
        logger.warning("connecting %s/%s failed: %s", outcome.integration, outcome.connection_id, outcome.error.message)
    if outcome.return_to:
        return RedirectResponse(_return_url(outcome), status_code=302, headers=_PRIVATE)
    if outcome.error is not None:
        return error_page(request, outcome.error)
    if _wants_html(request):
        text = f"{outcome.integration} is connected. You can close this window."
        return HTMLResponse(_page("Connected", text), headers=_PRIVATE)
    body = {"status": "connected", "integration": outcome.integration, "connection_id": outcome.connection_id}
    return JSONResponse(body, headers=_PRIVATE)


def error_page(request: Request, exc: SpliceError) -> Response:
    """The error envelope, or the same as a page when a person's browser is asking."""
    if _wants_html(request):
        hint = f"<p>{html.escape(exc.hint)}</p>" if exc.hint else ""
        body = _page("Could not connect", f"{exc.message} ({exc.code})", hint)
        return HTMLResponse(body, status_code=exc.http_status, headers=_PRIVATE)
    response = error_response(request, exc)
    response.headers.update(_PRIVATE)
    return response


def _return_url(outcome: Outcome) -> str:
    assert outcome.return_to is not None
    params: dict[str, str | None] = {"integration": outcome.integration, "connection_id": outcome.connection_id}
    if outcome.error is None:
        params["status"] = "connected"
    else:
        params.update(
            status="error",
            error=outcome.provider_error or outcome.error.code,
            error_description=outcome.error.message,
        )
    return with_query(outcome.return_to, params)


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


def _page(title: str, text: str, extra: str = "") -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{extra}</body></html>"
    )
