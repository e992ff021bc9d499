"""``/env``: the operator's environment variables scripts read as ``ctx.env``.

Values go in, never out: they are secrets (API regions, shared keys) encrypted at rest, so
no response carries one, not even the one just set. Variables belong to the whole project,
not to a tenant, so only a token without integration or connection limits may touch them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from splice.errors import UsageError
from splice.server._auth import Caller, CallerDep, RuntimeDep
from splice.server._errors import ERROR_RESPONSES

router = APIRouter(prefix="/env", tags=["env"], responses=ERROR_RESPONSES)

#: as ``splice env set`` (the store's rule): upper-case letters, digits and _, not starting with a digit
EnvName = Annotated[str, Path(pattern=r"^[A-Z_][A-Z0-9_]{0,254}$", description="e.g. API_REGION")]


def require_unscoped(caller: Caller, what: str, *, write: bool = False) -> None:
    """403 unless the token has no integration or connection limits (and, to write, is not read-only).

    For what belongs to the whole project rather than to a tenant: a limited token is not
    denied an object it might guess, it lacks a permission, so 403 is the honest answer.
    """
    scope = caller.token.scope
    if scope.integrations is not None or scope.connections is not None:
        raise UsageError(
            f"{what} needs a token without integration or connection limits",
            code="FORBIDDEN",
            hint="this token is limited to some integrations or connections",
        )
    if write and scope.read_only:
        raise UsageError("this access token is read-only", code="FORBIDDEN", hint="create a token without --read-only")


class EnvValue(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    value: str = Field(max_length=65536, description="kept encrypted; never returned")


@router.get("", summary="List environment variable names")
async def list_env(rt: RuntimeDep, caller: CallerDep) -> list[str]:
    """Names only, sorted: values are never returned."""
    require_unscoped(caller, "reading environment variables")
    return await rt.env_names()


@router.put("/{name}", status_code=204, summary="Set an environment variable")
async def set_env(name: EnvName, body: EnvValue, rt: RuntimeDep, caller: CallerDep) -> Response:
    """Create or replace; 204 because echoing the value would defeat keeping it secret."""
    require_unscoped(caller, "setting environment variables", write=True)
    await rt.set_env(name, body.value)
    return Response(status_code=204)


@router.delete("/{name}", status_code=204, summary="Delete an environment variable")
async def delete_env(name: EnvName, rt: RuntimeDep, caller: CallerDep) -> Response:
    """404 when no variable has that name."""
    require_unscoped(caller, "deleting environment variables", write=True)
    await rt.unset_env(name)
    return Response(status_code=204)
