"""``rt.resource_state``: state (JSON values by key) kept for a resource, by its type and id.

Celigo's state "for any resource": ``integrations`` (``acme``), ``connections`` (``acme.c1``),
``flows`` (``acme.onboard``), ``exports`` and ``imports`` (``acme.orders``). It is the same
store as ``ctx.state``: an integration's state is what ``ctx.state.get(key,
scope="integration")`` reads, a connection's what ``scope="connection"`` reads, and it goes
when the connection is deleted.

The resource must exist (404 otherwise), so no state is kept where deleting its owner would
never clean it up.

>>> await rt.resource_state.put("flows", "acme.onboard", "last_order", "SO-1001")
>>> await rt.resource_state.keys("flows", "acme.onboard")
['last_order']
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from splice._access import owner_of, singular
from splice.errors import InvalidInput, NotFound
from splice.project import Project
from splice.store import Store
from splice.store._state import connection_scope_id

#: resource types with state, in the order errors list them
RESOURCE_TYPES = ("integrations", "connections", "flows", "exports", "imports")
_MISSING = object()
Scoper = Callable[["ResourceState", str, str], Awaitable[tuple[str, str]]]


class ResourceState:
    """get / put / delete / keys of state, by (resource type, resource id, key)."""

    def __init__(self, project: Callable[[], Project], store: Store) -> None:
        self._project = project
        self.store = store

    @property
    def project(self) -> Project:
        return self._project()

    @staticmethod
    def check_type(resource_type: Any) -> None:
        """:class:`InvalidInput` listing the accepted types, unless ``resource_type`` is one."""
        if resource_type not in SCOPES:
            raise InvalidInput(
                f"state is kept for {', '.join(RESOURCE_TYPES)}, not {resource_type!r}",
                details={"field": "resource_type", "accepted": list(RESOURCE_TYPES)},
            )

    async def scope(self, resource_type: str, resource_id: str) -> tuple[str, str]:
        """The state store's (scope, scope_id) for a resource; refuses an unknown type or resource."""
        self.check_type(resource_type)
        owner = owner_of(resource_type, resource_id)
        if owner not in self.project.integrations:
            raise _not_found(resource_type, resource_id)
        return await SCOPES[resource_type](self, owner, resource_id)

    async def get(self, resource_type: str, resource_id: str, key: str, default: Any = None) -> Any:
        return await self.store.state.get(*await self.scope(resource_type, resource_id), key, default)

    async def put(self, resource_type: str, resource_id: str, key: str, value: Any) -> None:
        """Store ``value`` (plain JSON of at most ``[runtime] max_state_kb``)."""
        await self.store.state.put(*await self.scope(resource_type, resource_id), key, value)

    async def delete(self, resource_type: str, resource_id: str, key: str) -> bool:
        """Delete one key; returns whether it existed."""
        return await self.store.state.delete(*await self.scope(resource_type, resource_id), key)

    async def keys(self, resource_type: str, resource_id: str, prefix: str | None = None) -> list[str]:
        return await self.store.state.keys(*await self.scope(resource_type, resource_id), prefix=prefix)


async def _integration(state: ResourceState, owner: str, resource_id: str) -> tuple[str, str]:
    return "integration", owner


async def _connection(state: ResourceState, owner: str, resource_id: str) -> tuple[str, str]:
    connection_id = resource_id.partition(".")[2]
    await state.store.connections.get(owner, connection_id)
    return "connection", connection_scope_id(owner, connection_id)


async def _flow(state: ResourceState, owner: str, resource_id: str) -> tuple[str, str]:
    if resource_id.partition(".")[2] not in state.project.integrations[owner].flows:
        await state.store.flows.get(resource_id)  # a flow created over the API; NotFound otherwise
    return "flow", resource_id


def _named(scope: str) -> Scoper:
    """An export's or import's state: declared in code, else stored (``NotFound`` otherwise)."""

    async def scoped(state: ResourceState, owner: str, resource_id: str) -> tuple[str, str]:
        if resource_id.partition(".")[2] not in getattr(state.project.integrations[owner], f"{scope}s"):
            await state.store.resources.get(f"{scope}s", resource_id)
        return scope, resource_id

    return scoped


#: resource type → its (scope, scope_id) in the state store, after checking the resource exists
SCOPES: dict[str, Scoper] = {
    "integrations": _integration,
    "connections": _connection,
    "flows": _flow,
    "exports": _named("export"),
    "imports": _named("import"),
}


def _not_found(resource_type: str, resource_id: str) -> NotFound:
    return NotFound(f"{singular(resource_type)} {resource_id!r} not found", details={"id": resource_id})


__all__ = ["RESOURCE_TYPES", "SCOPES", "ResourceState"]
