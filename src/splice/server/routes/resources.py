"""``/exports``, ``/imports``, ``/lookup_caches``, …: one route factory for every platform resource type's CRUD.

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
from splice.server._auth import Caller, CallerDep, RuntimeDep
from splice.server._errors import ERROR_RESPONSES
from splice.services.resources import Resources

ResourceId = Annotated[str, Path(min_length=3, max_length=255, description="integration.name, e.g. acme.contacts")]
ExternalId = Annotated[str | None, Query(max_length=255, description="only the resources with this external_id")]


def crud_router(
    plural: str, service: Callable[[Runtime], Resources], guard: Callable[[Caller], None] | None = None
) -> APIRouter:
    """The six CRUD routes of one resource type, served by ``service(rt)``.

    ``guard`` refuses callers the whole type is closed to (lookup caches, shared by all of an
    integration's connections, need a token without connection limits).
    """
    singular = plural.removesuffix("s").replace("_", " ")
    article = "an" if singular[0] in "aeiou" else "a"
    check = guard or (lambda caller: None)
    router = APIRouter(tags=[plural.replace("_", " ")], responses=ERROR_RESPONSES)

    async def find(rt: RuntimeDep, caller: CallerDep, external_id: ExternalId = None) -> list[dict[str, Any]]:
        check(caller)
        return [d for d in await service(rt).find(external_id=external_id) if caller.sees(d["integration"])]

    async def get(id: ResourceId, rt: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
        check(caller)
        caller.check(_owner(id))
        return await service(rt).get(id)

    async def create(document: dict[str, Any], rt: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
        check(caller)
        caller.check(str(document.get("integration") or ""), write=True)
        return await service(rt).create(document)

    async def update(id: ResourceId, document: dict[str, Any], rt: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
        check(caller)
        caller.check(_owner(id), write=True)
        return await service(rt).update(id, document)

    async def patch(
        id: ResourceId, operations: list[dict[str, Any]], rt: RuntimeDep, caller: CallerDep
    ) -> dict[str, Any]:
        check(caller)
        caller.check(_owner(id), write=True)
        return await service(rt).patch(id, operations)

    async def delete(id: ResourceId, rt: RuntimeDep, caller: CallerDep) -> Response:
        check(caller)
        caller.check(_owner(id), write=True)
        await service(rt).delete(id)
        return Response(status_code=204)

    item, one, a = f"/{plural}/{{id}}", plural.removesuffix("s"), f"{article} {singular}"
    routes: list[tuple[str, Callable[..., Any], str, str, str, int]] = [
        (f"/{plural}", find, "GET", f"list_{plural}", f"List {plural.replace('_', ' ')}", 200),
        (f"/{plural}", create, "POST", f"create_{one}", f"Create {a}", 201),
        (item, get, "GET", f"get_{one}", f"Get {a}", 200),
        (item, update, "PUT", f"replace_{one}", f"Replace {a}'s document", 200),
        (item, patch, "PATCH", f"patch_{one}", f"Change {a} with a JSON Patch", 200),
        (item, delete, "DELETE", f"delete_{one}", f"Delete {a} created over the API", 204),
    ]
    for path, endpoint, method, name, summary, status in routes:
        router.add_api_route(path, endpoint, methods=[method], name=name, summary=summary, status_code=status,
                             response_model=None if method == "DELETE" else Any)  # fmt: skip
    return router


def _owner(id: str) -> str:
    return id.partition(".")[0]
