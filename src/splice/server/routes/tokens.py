"""``/tokens``: the access tokens of this API: create (the secret is shown once), list, read, revoke.

Managing tokens is a permission, not a tenant object: every route here needs a full-access
token (no integration or connection limits, not read-only), and any other token gets 403
``FORBIDDEN``. Otherwise a limited token could mint itself a wider one. Secrets are never
stored (only their SHA-256), so only ``POST /tokens`` can return one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from splice.errors import DeployNotAllowed, Forbidden
from splice.server._auth import Caller, CallerDep, RuntimeDep
from splice.server._bodies import JsonBody
from splice.server._errors import ERROR_RESPONSES
from splice.store import AccessToken, TokenScope

router = APIRouter(prefix="/tokens", tags=["tokens"], responses=ERROR_RESPONSES)

#: an integration name or connection id, as the store checks them
ScopeName = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:@-]{1,128}$")]
TokenId = Annotated[str, Path(min_length=1, max_length=64, description="e.g. tok_1a2b3c4d5e6f")]


class ScopeOut(BaseModel):
    """``null`` limits mean every integration (or every connection of the allowed integrations)."""

    read_only: bool
    integrations: list[str] | None
    connections: list[str] | None
    deploy: bool = Field(default=False, description="may deploy the project's code and roll it back (`/deploys`)")


class TokenOut(BaseModel):
    """A token as listed: ``prefix`` (its first characters) tells tokens apart; the secret is not here."""

    id: str
    name: str
    prefix: str
    scope: ScopeOut
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: AccessToken) -> TokenOut:
        return cls.model_validate(token.to_dict())


class CreatedToken(TokenOut):
    secret: str = Field(description="send as `Authorization: Bearer <secret>`; shown this once only")


class NewToken(JsonBody):
    model_config = ConfigDict(strict=True)

    name: str = Field(min_length=1, max_length=128, description="who uses it, e.g. ci-deploy")
    read_only: bool = False
    integrations: list[ScopeName] | None = Field(
        default=None, min_length=1, description="only these integrations; null for all"
    )
    connections: list[ScopeName] | None = Field(
        default=None, min_length=1, description="only these connection ids; null for all"
    )
    deploy: bool = Field(default=False, description="may deploy and roll back; only a deploy token may create one")


def _require_full_access(caller: Caller) -> None:
    if not caller.token.scope.full_access:
        raise Forbidden(
            "managing access tokens needs a full-access token",
            hint='use a token whose scope is not "read_only" and has no "integrations" or "connections" limits',
        )


@router.get("", summary="List access tokens")
async def list_tokens(rt: RuntimeDep, caller: CallerDep, include_revoked: bool = False) -> list[TokenOut]:
    """Oldest first, without secrets; revoked tokens only with ``include_revoked=true``."""
    _require_full_access(caller)
    return [TokenOut.of(token) for token in await rt.tokens.list(include_revoked=include_revoked)]


@router.post("", status_code=201, summary="Create an access token")
async def create_token(body: NewToken, rt: RuntimeDep, caller: CallerDep) -> CreatedToken:
    """The only response that carries the secret: it is not stored, so it cannot be shown again."""
    _require_full_access(caller)
    if body.deploy and not caller.token.scope.deploy:
        raise DeployNotAllowed(
            "only a deploy token may create another deploy token",
            hint="create it where the server's project is: splice tokens create NAME --deploy",
            hints={"rest": 'send this request with a token whose scope has "deploy": true'},
        )
    scope = TokenScope(read_only=body.read_only, integrations=body.integrations, connections=body.connections,
                       deploy=body.deploy)  # fmt: skip
    token, secret = await rt.tokens.create(body.name, scope)
    return CreatedToken(**TokenOut.of(token).model_dump(), secret=secret)


@router.get("/{token_id}", summary="Get an access token")
async def get_token(token_id: TokenId, rt: RuntimeDep, caller: CallerDep) -> TokenOut:
    _require_full_access(caller)
    return TokenOut.of(await rt.tokens.get(token_id))


@router.delete("/{token_id}", summary="Revoke an access token")
async def revoke_token(token_id: TokenId, rt: RuntimeDep, caller: CallerDep) -> TokenOut:
    """200 with the revoked token (``revoked_at`` set), so the caller sees which one went.

    Revoking is for good and repeating it is harmless (the first ``revoked_at`` stays); a
    token may revoke itself.
    """
    _require_full_access(caller)
    return TokenOut.of(await rt.tokens.revoke(token_id))
