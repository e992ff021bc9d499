"""``/env``: the operator's environment variables scripts read as ``ctx.env``.

Values go in, never out: they are secrets (API regions, shared keys) encrypted at rest, so
no response carries one, not even the one just set. Variables belong to the whole project,
not to a tenant, so only a token without integration or connection limits may touch them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import ConfigDict, Field

from splice.server._auth import CallerDep, RuntimeDep
from splice.server._bodies import JsonBody
from splice.server._errors import ERROR_RESPONSES

router = APIRouter(prefix="/env", tags=["env"], responses=ERROR_RESPONSES)

#: as ``splice env set`` (the store's rule): upper-case letters, digits and _, not starting with a digit
EnvName = Annotated[str, Path(pattern=r"^[A-Z_][A-Z0-9_]{0,254}$", description="e.g. API_REGION")]


class EnvValue(JsonBody):
    model_config = ConfigDict(strict=True)

    value: str = Field(max_length=65536, description="kept encrypted; never returned")


@router.get("", summary="List environment variable names")
async def list_env(rt: RuntimeDep, caller: CallerDep) -> list[str]:
    """Names only, sorted: values are never returned."""
    caller.require_unscoped("reading environment variables")
    return await rt.env.names()


@router.put("/{name}", status_code=204, summary="Set an environment variable")
async def set_env(name: EnvName, body: EnvValue, rt: RuntimeDep, caller: CallerDep) -> Response:
    """Create or replace; 204 because echoing the value would defeat keeping it secret."""
    caller.require_unscoped("setting environment variables", write=True)
    await rt.env.set(name, body.value)
    return Response(status_code=204)


@router.delete("/{name}", status_code=204, summary="Delete an environment variable")
async def delete_env(name: EnvName, rt: RuntimeDep, caller: CallerDep) -> Response:
    """404 when no variable has that name."""
    caller.require_unscoped("deleting environment variables", write=True)
    await rt.env.unset(name)
    return Response(status_code=204)
