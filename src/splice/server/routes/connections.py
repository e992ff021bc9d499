"""``/connections``: create, list, read, change, test and delete customers' connections.

Credentials go in, never out: responses carry the credential field names only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from splice.server._auth import CallerDep, RuntimeDep
from splice.server._bodies import JsonBody
from splice.server._errors import ERROR_RESPONSES
from splice.server._truncate import clip
from splice.store import Connection

router = APIRouter(prefix="/connections", tags=["connections"], responses=ERROR_RESPONSES)
Json = dict[str, Any]


class NewConnection(JsonBody):
    integration: str = Field(min_length=1, max_length=128)
    id: str = Field(min_length=1, max_length=128, description="your id for it, e.g. your customer's id")
    credentials: Json = Field(default_factory=dict)
    config: Json = Field(default_factory=dict)
    metadata: Json = Field(default_factory=dict)


class ConnectionPatch(JsonBody):
    credentials: Json | None = None
    config: Json | None = None
    metadata: Json | None = None


class ConnectionOut(BaseModel):
    integration: str
    id: str
    config: Json
    metadata: Json
    status: str
    status_error: Json | None
    credential_fields: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, conn: Connection) -> ConnectionOut:
        return cls(**conn.public())

    @classmethod
    def listed(cls, conn: Connection) -> ConnectionOut:
        """As ``GET /connections`` shows it: ``config`` and ``metadata`` over 4,096 bytes of JSON are
        ``{"_truncated": true, "bytes": N}``."""
        out = cls.of(conn)
        out.config, out.metadata = clip(out.config), clip(out.metadata)
        return out


class TestResult(BaseModel):
    ok: bool
    checked: str


@router.post("", status_code=201, summary="Create a connection")
async def create_connection(body: NewConnection, rt: RuntimeDep, caller: CallerDep) -> ConnectionOut:
    caller.check(body.integration, body.id, write=True)
    conn = await rt.connections.add(
        body.integration, body.id, body.credentials, config=body.config, metadata=body.metadata
    )
    return ConnectionOut.of(conn)


@router.get("", summary="List connections")
async def list_connections(rt: RuntimeDep, caller: CallerDep, integration: str | None = None) -> list[ConnectionOut]:
    """A `config` or `metadata` over 4,096 bytes of JSON is listed as `{"_truncated": true, "bytes": N}`;
    `GET /connections/{integration}/{connection_id}` has it whole."""
    if integration is not None:
        caller.check(integration)
    return [ConnectionOut.listed(c) for c in await rt.connections.list(integration) if caller.sees(c.integration, c.id)]


@router.get("/{integration}/{connection_id}", summary="Get a connection")
async def get_connection(integration: str, connection_id: str, rt: RuntimeDep, caller: CallerDep) -> ConnectionOut:
    caller.check(integration, connection_id)
    return ConnectionOut.of(await rt.connections.get(integration, connection_id))


@router.patch("/{integration}/{connection_id}", summary="Change a connection's credentials, config or metadata")
async def update_connection(
    integration: str, connection_id: str, body: ConnectionPatch, rt: RuntimeDep, caller: CallerDep
) -> ConnectionOut:
    caller.check(integration, connection_id, write=True)
    conn = await rt.connections.update(
        integration, connection_id, credentials=body.credentials, config=body.config, metadata=body.metadata
    )
    return ConnectionOut.of(conn)


@router.delete("/{integration}/{connection_id}", status_code=204, summary="Delete a connection and its data")
async def delete_connection(integration: str, connection_id: str, rt: RuntimeDep, caller: CallerDep) -> Response:
    caller.check(integration, connection_id, write=True)
    await rt.connections.delete(integration, connection_id)
    return Response(status_code=204)


@router.post("/{integration}/{connection_id}/test", summary="Check a connection's credentials")
async def test_connection(integration: str, connection_id: str, rt: RuntimeDep, caller: CallerDep) -> TestResult:
    caller.check(integration, connection_id)
    return TestResult(**await rt.connections.test(integration, connection_id))


@router.get("/{integration}/{connection_id}/metadata", summary="Get a connection's metadata")
async def get_connection_metadata(integration: str, connection_id: str, rt: RuntimeDep, caller: CallerDep) -> Json:
    caller.check(integration, connection_id)
    return await rt.connections.metadata(integration, connection_id)


@router.put("/{integration}/{connection_id}/metadata", summary="Replace a connection's metadata")
async def set_connection_metadata(
    integration: str, connection_id: str, body: Json, rt: RuntimeDep, caller: CallerDep
) -> Json:
    caller.check(integration, connection_id, write=True)
    await rt.connections.set_metadata(integration, connection_id, body)
    return body


@router.patch("/{integration}/{connection_id}/metadata", summary="Merge keys into a connection's metadata")
async def update_connection_metadata(
    integration: str, connection_id: str, body: Json, rt: RuntimeDep, caller: CallerDep
) -> Json:
    caller.check(integration, connection_id, write=True)
    return await rt.connections.update_metadata(integration, connection_id, body)
