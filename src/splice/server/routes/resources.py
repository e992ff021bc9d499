"""``/exports``, ``/imports``, …: one route factory for every platform resource type's CRUD.

Each type gets the same six operations (Celigo's API and ``ctx.engine`` alike): ``GET
/{type}`` (``?external_id=``), ``POST /{type}``, ``GET|PUT|PATCH|DELETE /{type}/{id}``. The
routes are data: :func:`crud_router` builds them from the type's name and the runtime
service that serves it, with short operation ids (``list_exports``, ``patch_export``).
A token limited to integrations sees only their resources (404 for others); a read-only one
cannot change them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from splice.runtime import Runtime
from splice.server._auth import CallerDep, RuntimeDep
from splice.server._errors import ERROR_RESPONSES
from splice.services.resources import Resources

ResourceId = Annotated[str, Path(min_length=3, max_length=255, description="integration.name, e.g. acme.contacts")]
ExternalId = Annotated[str | None, Query(max_length=255, description="only the resources with this external_id")]


def crud_router(plural: str, service: Callable[[Runtime], Resources]) -> APIRouter:
    """The six CRUD routes of one resource type, served by ``service(rt)``."""
    singular = plural.removesuffix("s")
    router = APIRouter(tags=[plural], responses=ERROR_RESPONSES)

    async def find(rt: RuntimeDep, caller: CallerDep, external_id: ExternalId = None) -> list[dict[str, Any]]:
        return [d for d in await service(rt).find(external_id=external_id) if caller.sees(d["integration"])]

    async def get(id: ResourceId, rt: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
        caller.check(_owner(id))
        return await service(rt).get(id)

    async def create(document: dict[str, Any], rt: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
        caller.check(str(document.get("integration") or ""), write=True)
        return await service(rt).create(document)

    async def update(id: ResourceId, document: dict[str, Any], rt: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
        caller.check(_owner(id), write=True)
        return await service(rt).update(id, document)

    async def patch(
        id: ResourceId, operations: list[dict[str, Any]], rt: RuntimeDep, caller: CallerDep
    ) -> dict[str, Any]:
        caller.check(_owner(id), write=True)
        return await service(rt).patch(id, operations)

    async def delete(id: ResourceId, rt: RuntimeDep, caller: CallerDep) -> Response:
        caller.check(_owner(id), write=True)
        await service(rt).delete(id)
        return Response(status_code=204)

    item = f"/{plural}/{{id}}"
    routes: list[tuple[str, Callable[..., Any], str, str, str, int]] = [
        (f"/{plural}", find, "GET", f"list_{plural}", f"List {plural}", 200),
        (f"/{plural}", create, "POST", f"create_{singular}", f"Create an {singular}", 201),
        (item, get, "GET", f"get_{singular}", f"Get an {singular}", 200),
        (item, update, "PUT", f"replace_{singular}", f"Replace an {singular}'s document", 200),
        (item, patch, "PATCH", f"patch_{singular}", f"Change an {singular} with a JSON Patch", 200),
        (item, delete, "DELETE", f"delete_{singular}", f"Delete an {singular} created over the API", 204),
    ]
    for path, endpoint, method, name, summary, status in routes:
        router.add_api_route(path, endpoint, methods=[method], name=name, summary=summary, status_code=status,
                             response_model=None if method == "DELETE" else Any)  # fmt: skip
    return router


def _owner(id: str) -> str:
    return id.partition(".")[0]
