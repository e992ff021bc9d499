"""Who is looking at the dashboard: the signed-in token as a :class:`Caller`, and CSRF checks.

The dashboard enforces exactly the REST API's scopes because it uses the same :class:`Caller`
(``sees``, ``check``) and the same queries (``scope_filters``, ``visible_run``). Every
state-changing request must carry the session's CSRF secret, as a form field or the
``X-CSRF-Token`` header htmx sends; the cookie is also ``SameSite=Strict``.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Response

from splice.errors import Forbidden, NotFound
from splice.runtime import Runtime
from splice.server._auth import Caller
from splice.ui._session import COOKIE, MAX_AGE, Session, Signer


class SignInNeeded(Exception):
    """No session, an expired one, or its token was revoked: the browser goes to the sign-in page."""


def signer(request: Request) -> Signer:
    return request.app.state.signer  # type: ignore[no-any-return]


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def session(request: Request) -> Session | None:
    """The request's session, read once per request."""
    if not hasattr(request.state, "ui_session"):
        request.state.ui_session = signer(request).load(request.cookies.get(COOKIE))
    return request.state.ui_session  # type: ignore[no-any-return]


def set_session(request: Request, response: Response, value: Session | None) -> None:
    secure = request.url.scheme == "https"
    if value is None:
        response.delete_cookie(COOKIE, path="/ui", httponly=True, samesite="strict", secure=secure)
        return
    response.set_cookie(COOKIE, signer(request).dump(value), max_age=MAX_AGE, path="/ui", httponly=True,
                        samesite="strict", secure=secure)  # fmt: skip


async def viewer(request: Request) -> Caller:
    """The signed-in token; :class:`SignInNeeded` without a live one."""
    current = session(request)
    if current is None or current.token_id is None:
        raise SignInNeeded
    try:
        token = await runtime(request).tokens.get(current.token_id)
    except NotFound:
        raise SignInNeeded from None
    if token.revoked:
        raise SignInNeeded
    return Caller(token)


async def form_csrf(request: Request) -> str | None:
    if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/")):
        value = (await request.form()).get("csrf")
        return value if isinstance(value, str) else None
    return None


async def csrf(request: Request) -> None:
    """Refuse a state-changing request whose CSRF secret is missing or not this session's."""
    current = session(request)
    sent = request.headers.get("x-csrf-token") or await form_csrf(request)
    if current is None or not sent or not hmac.compare_digest(sent, current.csrf):
        raise Forbidden("this form has expired or did not come from the dashboard: reload the page and try again")


Viewer = Annotated[Caller, Depends(viewer)]
CsrfChecked = Depends(csrf)
