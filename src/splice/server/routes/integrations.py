"""``/integrations``: what the project declares (read-only; integrations are code)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from splice.server._auth import CallerDep, RuntimeDep
from splice.server._errors import ERROR_RESPONSES

router = APIRouter(prefix="/integrations", tags=["integrations"], responses=ERROR_RESPONSES)


@router.get("", summary="List integrations")
async def list_integrations(rt: RuntimeDep, caller: CallerDep) -> list[dict[str, Any]]:
    """Every integration this token may see: auth scheme, config schema and scripts."""
    return [spec.describe() for name, spec in rt.project.integrations.items() if caller.sees(name)]


@router.get("/{integration}", summary="Get an integration")
async def get_integration(integration: str, rt: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
    caller.check(integration)
    return rt.project.integration(integration).describe()
