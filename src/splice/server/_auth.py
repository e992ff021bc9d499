"""Bearer access tokens: who is calling, and what their token lets them see.

Every route but webhooks and the OAuth callback depends on :func:`caller`. A token limited to
some integrations or connections never learns that others exist: objects outside its scope
are 404, exactly like missing ones; only a write with a read-only token is 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from splice.errors import Forbidden, NotFound, Unauthorized
from splice.runtime import Runtime
from splice.store import AccessToken

_bearer = HTTPBearer(auto_error=False, description="an access token from `splice tokens create`")


async def runtime(request: Request) -> Runtime:
    """``async`` on purpose: FastAPI runs plain ``def`` dependencies in a thread pool, per request."""
    return request.app.state.runtime  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Caller:
    """The verified token behind a request."""

    token: AccessToken

    def sees(self, integration: str, connection: str | None = None) -> bool:
        """Whether the token covers ``integration`` (and ``connection`` when given)."""
        scope = self.token.scope
        if scope.integrations is not None and integration not in scope.integrations:
            return False
        return connection is None or scope.connections is None or connection in scope.connections

    def check(self, integration: str, connection: str | None = None, *, write: bool = False) -> None:
        """404 for what the token cannot see; 403 for a write with a read-only token."""
        if not self.sees(integration, connection):
            what = f"connection {connection!r} of integration {integration!r}" if connection else f"{integration!r}"
            raise NotFound(f"{what} not found")
        if write and self.token.scope.read_only:
            raise _read_only()

    def require_unscoped(self, what: str, *, write: bool = False) -> None:
        """403 unless the token has no integration or connection limits (and, to write, is not read-only).

        For what belongs to the whole project rather than to a tenant: a limited token is not
        denied an object it might guess, it lacks a permission, so 403 is the honest answer.
        """
        scope = self.token.scope
        if scope.integrations is not None or scope.connections is not None:
            raise Forbidden(
                f"{what} needs a token without integration or connection limits",
                hint="this token is limited to some integrations or connections",
            )
        if write and scope.read_only:
            raise _read_only()


def _read_only() -> Forbidden:
    return Forbidden("this access token is read-only", hint='use a token whose scope is not "read_only"')


async def caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Caller:
    if credentials is None:
        raise Unauthorized(
            "this endpoint needs an access token",
            hint="send `Authorization: Bearer <token>`; create one with `splice tokens create NAME`",
        )
    rt: Runtime = request.app.state.runtime
    token = await rt.tokens.verify(credentials.credentials)
    if token is None:
        raise Unauthorized("the access token is invalid or revoked")
    return Caller(token)


RuntimeDep = Annotated[Runtime, Depends(runtime)]
CallerDep = Annotated[Caller, Depends(caller)]
