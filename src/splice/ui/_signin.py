"""Sign in with an access token, and sign out. The token's secret is posted once, never stored or shown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from splice.ui._auth import CsrfChecked, runtime, session, set_session
from splice.ui._render import go, page
from splice.ui._session import Session

router = APIRouter()


@router.get("/login")
async def login_page(request: Request) -> Response:
    current = session(request) or Session.anonymous()
    response = page(request, "login.html", csrf=current.csrf)
    set_session(request, response, Session(csrf=current.csrf, expires=current.expires))
    return response


@router.post("/login", dependencies=[CsrfChecked])
async def login(request: Request, token: Annotated[str, Form(max_length=512)] = "") -> Response:
    found = await runtime(request).tokens.verify(token.strip())
    if found is None:
        current = session(request) or Session.anonymous()
        return page(request, "login.html", status_code=401, csrf=current.csrf,
                    error="That access token is not valid (unknown, mistyped or revoked).")  # fmt: skip
    response = go(request, "/runs")
    set_session(request, response, Session.anonymous().signed_in(found.id))
    return response


@router.post("/logout", dependencies=[CsrfChecked])
async def logout(request: Request) -> Response:
    response = go(request, "/login")
    set_session(request, response, None)
    return response
