"""``/state``: the JSON values scripts keep with ``ctx.state``, to inspect, fix or reset them.

Four families of paths, one per scope a script can use; each has the same four operations::

    GET    /state/global                                   keys (?prefix=)
    GET    /state/global/{key}                             {"key", "value"}; 404 when unset
    PUT    /state/global/{key}      {"value": <any JSON>}  {"key", "value"} as stored
    DELETE /state/global/{key}                             204; 404 when unset
    ...    /state/integrations/{integration}[/{key}]
    ...    /state/connections/{integration}/{connection_id}[/{key}]
    ...    /state/scripts/{integration}/{script}[/{key}]?connection_id=   (``ctx.state``'s default)
    ...    /state/resources/{resource_type}/{id}[/{key}]      (Celigo's state by resource)

State by resource (``rt.resource_state``, ``ctx.engine.state``) names a resource by type —
``integrations``, ``connections``, ``flows``, ``exports``, ``imports`` — and global id
(``acme``, ``acme.c1``, ``acme.onboard``). It lives under ``/state/resources/`` because
``/state/integrations/{integration}/{key}`` and ``/state/connections/{integration}/{id}/{key}``
already take any path after them as the key. An integration's and a connection's state there
is the same as under those older paths.

The body of a PUT is an envelope, ``{"value": ...}``, so that ``null``, a string or a number
is as easy to store as an object, and the body stays one JSON object a client can extend.
Keys may contain ``/`` (``cursors/contacts``): the rest of the path is the key.

Who may do what: global state belongs to the whole project, so it needs a token without
integration or connection limits (403 otherwise); the other scopes follow the token's scope
like every tenant object (404 outside it), except that state shared by all of an
integration's connections (integration state, a script's state without a connection) needs
a token without connection limits (403). Writes need a token that is not read-only (403).
The integration, connection or script must exist (404), so no state is written where
deleting its owner would never clean it up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel

from splice._access import owner_of, singular
from splice.errors import Forbidden, NotFound
from splice.runtime import Runtime
from splice.server._auth import Caller, CallerDep, RuntimeDep
from splice.server._bodies import JsonBody
from splice.server._errors import ERROR_RESPONSES
from splice.store._state import connection_scope_id

router = APIRouter(prefix="/state", tags=["state"], responses=ERROR_RESPONSES)

Key = Annotated[str, Path(min_length=1, max_length=512, description="may contain `/`")]
Prefix = Annotated[str | None, Query(max_length=512, description="only keys starting with it")]
IntegrationName = Annotated[str, Path(min_length=1, max_length=128)]
ConnectionId = Annotated[str, Path(min_length=1, max_length=128)]
ScriptName = Annotated[str, Path(min_length=1, max_length=128)]
ResourceType = Annotated[
    Literal["integrations", "connections", "flows", "exports", "imports"], Path(description="the kind of resource")
]
ResourceId = Annotated[
    str, Path(min_length=1, max_length=255, description="acme, acme.c1 (a connection), acme.onboard (a flow)")
]
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a request's keys live in the state store."""

    kind: str
    id: str


class StateEntry(BaseModel):
    key: str
    value: Any


class StateValue(JsonBody):
    """The body of a PUT: the value to store, any JSON (``null`` included)."""

    value: Any


def _writes(request: Request) -> bool:
    return request.method not in ("GET", "HEAD")


def _shared(caller: Caller, what: str) -> None:
    """403 for a token limited to connections: state shared by all of an integration's tenants is not theirs."""
    if caller.token.scope.connections is not None:
        raise Forbidden(f"{what} is shared by every connection, so it needs a token without connection limits")


def _known_integration(rt: Runtime, integration: str) -> None:
    if integration not in rt.project.integrations:
        raise NotFound(f"integration {integration!r} not found", details={"integration": integration})


async def _global(request: Request, caller: CallerDep) -> Scope:
    caller.require_unscoped("global state", write=_writes(request))
    return Scope("global", "")


async def _integration(integration: IntegrationName, request: Request, rt: RuntimeDep, caller: CallerDep) -> Scope:
    caller.check(integration, write=_writes(request))
    _shared(caller, "an integration's state")
    _known_integration(rt, integration)
    return Scope("integration", integration)


async def _connection(
    integration: IntegrationName, connection_id: ConnectionId, request: Request, rt: RuntimeDep, caller: CallerDep
) -> Scope:
    caller.check(integration, connection_id, write=_writes(request))
    await rt.connections.get(integration, connection_id)
    return Scope("connection", connection_scope_id(integration, connection_id))


async def _script(
    integration: IntegrationName,
    script: ScriptName,
    request: Request,
    rt: RuntimeDep,
    caller: CallerDep,
    connection_id: Annotated[
        str | None, Query(min_length=1, max_length=128, description="the connection; leave out for a script without")
    ] = None,
) -> Scope:
    caller.check(integration, connection_id, write=_writes(request))
    if connection_id is None:
        _shared(caller, "a script's state without connection_id")
    _known_integration(rt, integration)
    if script not in rt.project.integrations[integration].scripts:
        raise NotFound(f"script {integration}.{script} not found", details={"script": f"{integration}.{script}"})
    if connection_id is not None:
        await rt.connections.get(integration, connection_id)
    return Scope("script", connection_scope_id(integration, connection_id or "", script))


async def _resource(
    resource_type: ResourceType, resource_id: ResourceId, request: Request, rt: RuntimeDep, caller: CallerDep
) -> Scope:
    owner = owner_of(resource_type, resource_id)
    connection = resource_id.partition(".")[2] if resource_type == "connections" else None
    caller.check(owner, connection, write=_writes(request))
    if connection is None:
        _shared(caller, f"a {singular(resource_type)}'s state")
    return Scope(*await rt.resource_state.scope(resource_type, resource_id))


GlobalScope = Annotated[Scope, Depends(_global)]
IntegrationScope = Annotated[Scope, Depends(_integration)]
ConnectionScope = Annotated[Scope, Depends(_connection)]
ScriptScope = Annotated[Scope, Depends(_script)]
ResourceScope = Annotated[Scope, Depends(_resource)]


async def _keys(rt: Runtime, scope: Scope, prefix: str | None) -> list[str]:
    return await rt.state.keys(scope.kind, scope.id, prefix=prefix)


async def _get(rt: Runtime, scope: Scope, key: str) -> StateEntry:
    value = await rt.state.get(scope.kind, scope.id, key, _MISSING)
    if value is _MISSING:
        raise NotFound(f"state key {key!r} not found", details={"key": key})
    return StateEntry(key=key, value=value)


async def _put(rt: Runtime, scope: Scope, key: str, body: StateValue) -> StateEntry:
    """Answers with the value read back, as stored (NaN, Infinity and values over ``[runtime]
    max_state_kb`` are refused: 422)."""
    await rt.state.put(scope.kind, scope.id, key, body.value)
    return await _get(rt, scope, key)


async def _delete(rt: Runtime, scope: Scope, key: str) -> Response:
    if not await rt.state.delete(scope.kind, scope.id, key):
        raise NotFound(f"state key {key!r} not found", details={"key": key})
    return Response(status_code=204)


@router.get("/global", summary="List global state keys")
async def list_global_state(rt: RuntimeDep, scope: GlobalScope, prefix: Prefix = None) -> list[str]:
    return await _keys(rt, scope, prefix)


@router.get("/global/{key:path}", summary="Get a global state value")
async def get_global_state(key: Key, rt: RuntimeDep, scope: GlobalScope) -> StateEntry:
    return await _get(rt, scope, key)


@router.put("/global/{key:path}", summary="Set a global state value")
async def set_global_state(key: Key, body: StateValue, rt: RuntimeDep, scope: GlobalScope) -> StateEntry:
    return await _put(rt, scope, key, body)


@router.delete("/global/{key:path}", status_code=204, summary="Delete a global state value")
async def delete_global_state(key: Key, rt: RuntimeDep, scope: GlobalScope) -> Response:
    return await _delete(rt, scope, key)


@router.get("/integrations/{integration}", summary="List an integration's state keys")
async def list_integration_state(rt: RuntimeDep, scope: IntegrationScope, prefix: Prefix = None) -> list[str]:
    return await _keys(rt, scope, prefix)


@router.get("/integrations/{integration}/{key:path}", summary="Get an integration's state value")
async def get_integration_state(key: Key, rt: RuntimeDep, scope: IntegrationScope) -> StateEntry:
    return await _get(rt, scope, key)


@router.put("/integrations/{integration}/{key:path}", summary="Set an integration's state value")
async def set_integration_state(key: Key, body: StateValue, rt: RuntimeDep, scope: IntegrationScope) -> StateEntry:
    return await _put(rt, scope, key, body)


@router.delete("/integrations/{integration}/{key:path}", status_code=204, summary="Delete an integration's state value")
async def delete_integration_state(key: Key, rt: RuntimeDep, scope: IntegrationScope) -> Response:
    return await _delete(rt, scope, key)


@router.get("/connections/{integration}/{connection_id}", summary="List a connection's state keys")
async def list_connection_state(rt: RuntimeDep, scope: ConnectionScope, prefix: Prefix = None) -> list[str]:
    return await _keys(rt, scope, prefix)


@router.get("/connections/{integration}/{connection_id}/{key:path}", summary="Get a connection's state value")
async def get_connection_state(key: Key, rt: RuntimeDep, scope: ConnectionScope) -> StateEntry:
    return await _get(rt, scope, key)


@router.put("/connections/{integration}/{connection_id}/{key:path}", summary="Set a connection's state value")
async def set_connection_state(key: Key, body: StateValue, rt: RuntimeDep, scope: ConnectionScope) -> StateEntry:
    return await _put(rt, scope, key, body)


@router.delete(
    "/connections/{integration}/{connection_id}/{key:path}",
    status_code=204,
    summary="Delete a connection's state value",
)
async def delete_connection_state(key: Key, rt: RuntimeDep, scope: ConnectionScope) -> Response:
    return await _delete(rt, scope, key)


@router.get("/scripts/{integration}/{script}", summary="List a script's state keys (per connection)")
async def list_script_state(rt: RuntimeDep, scope: ScriptScope, prefix: Prefix = None) -> list[str]:
    return await _keys(rt, scope, prefix)


@router.get("/scripts/{integration}/{script}/{key:path}", summary="Get a script's state value")
async def get_script_state(key: Key, rt: RuntimeDep, scope: ScriptScope) -> StateEntry:
    return await _get(rt, scope, key)


@router.put("/scripts/{integration}/{script}/{key:path}", summary="Set a script's state value")
async def set_script_state(key: Key, body: StateValue, rt: RuntimeDep, scope: ScriptScope) -> StateEntry:
    return await _put(rt, scope, key, body)


@router.delete("/scripts/{integration}/{script}/{key:path}", status_code=204, summary="Delete a script's state value")
async def delete_script_state(key: Key, rt: RuntimeDep, scope: ScriptScope) -> Response:
    return await _delete(rt, scope, key)


@router.get("/resources/{resource_type}/{resource_id}", summary="List a resource's state keys")
async def list_resource_state(rt: RuntimeDep, scope: ResourceScope, prefix: Prefix = None) -> list[str]:
    return await _keys(rt, scope, prefix)


@router.get("/resources/{resource_type}/{resource_id}/{key:path}", summary="Get a resource's state value")
async def get_resource_state(key: Key, rt: RuntimeDep, scope: ResourceScope) -> StateEntry:
    return await _get(rt, scope, key)


@router.put("/resources/{resource_type}/{resource_id}/{key:path}", summary="Set a resource's state value")
async def set_resource_state(key: Key, body: StateValue, rt: RuntimeDep, scope: ResourceScope) -> StateEntry:
    return await _put(rt, scope, key, body)


@router.delete(
    "/resources/{resource_type}/{resource_id}/{key:path}", status_code=204, summary="Delete a resource's state value"
)
async def delete_resource_state(key: Key, rt: RuntimeDep, scope: ResourceScope) -> Response:
    return await _delete(rt, scope, key)
