"""``/deploys``: upload the project as a new version, list versions, roll back.

Every worker runs the newest version for new runs (runs going finish on theirs). Deploying and
rolling back change what every integration runs, so they need a token created for it
(``deploy`` in its scope); any other token gets 403 ``DEPLOY_NOT_ALLOWED``. Listing needs a
token without integration or connection limits.

``POST /deploys`` takes the archive itself as the body (``application/octet-stream``: the ``.tar.gz``
``splice deploy`` packs), up to ``[server] max_deploy_mb``; it is checked before it is stored,
so a malformed one (422 ``INVALID_ARCHIVE``) leaves the versions as they were.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from splice.deploy import check_archive
from splice.errors import DeployNotAllowed
from splice.server._auth import Caller, CallerDep, RuntimeDep
from splice.server._bodies import JsonBody
from splice.server._errors import ERROR_RESPONSES
from splice.store import ProjectVersion

router = APIRouter(prefix="/deploys", tags=["deploys"], responses=ERROR_RESPONSES)


class VersionOut(BaseModel):
    """A deployed version of the project; the newest is the one new runs use."""

    number: int
    created_at: datetime
    digest: str = Field(description="SHA-256 of the archive: the same files give the same digest")
    size: int = Field(description="the archive's size in bytes")
    created_by: str | None = Field(description="the name of the token that deployed it")
    message: str | None
    rollback_of: int | None = Field(description="a rollback: the version whose code this one holds")
    current: bool = Field(description="whether new runs use it (it is the newest)")
    unchanged: bool = Field(default=False, description="a deploy of the current version's very code: nothing new")

    @classmethod
    def of(cls, version: ProjectVersion, newest: int | None) -> VersionOut:
        return cls(**version.to_dict(), current=version.number == newest)


class Rollback(JsonBody):
    to: int | None = Field(default=None, ge=1, description="the version to run again; null: the one before the newest")


def _require_deploy(caller: Caller) -> None:
    if not caller.token.scope.deploy:
        raise DeployNotAllowed(
            "this access token may not deploy: deploying needs a token created for it",
            hint="create one where the server's project is: splice tokens create NAME --deploy",
            hints={"rest": 'use a token whose scope has "deploy": true (POST /tokens with "deploy": true)'},
        )


@router.post(
    "",
    status_code=201,
    summary="Deploy a new version of the project",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def create_deploy(
    request: Request,
    response: Response,
    rt: RuntimeDep,
    caller: CallerDep,
    message: Annotated[str | None, Query(max_length=1024, description="what changed, for the list")] = None,
) -> VersionOut:
    """The body is the project's ``.tar.gz`` (splice.toml and its package); new runs use it at once.

    The current version's very archive (the same digest) is not stored again: 200 with that
    version and ``unchanged: true``, so deploying on every commit costs nothing when the code
    did not change.
    """
    _require_deploy(caller)
    archive = await request.body()
    info = await asyncio.to_thread(check_archive, archive)
    newest = await rt.store.deploys.newest()
    if newest is not None and newest.digest == info.digest:
        response.status_code = 200
        return VersionOut(**newest.to_dict(), current=True, unchanged=True)
    version = await rt.store.deploys.create(archive, info.digest, created_by=caller.token.name, message=message)
    return VersionOut.of(version, version.number)


@router.get("", summary="List deployed versions")
async def list_deploys(
    rt: RuntimeDep, caller: CallerDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[VersionOut]:
    """Newest first; the first is current."""
    caller.require_unscoped("listing deployed versions")
    versions = await rt.store.deploys.list(limit)
    newest = versions[0].number if versions else None
    return [VersionOut.of(version, newest) for version in versions]


@router.post("/rollback", status_code=201, summary="Roll back to an earlier version")
async def rollback_deploy(rt: RuntimeDep, caller: CallerDep, body: Rollback | None = None) -> VersionOut:
    """Makes ``to`` (default: the version before the newest) current again, as a new version
    holding its code, so the list keeps the whole history."""
    _require_deploy(caller)
    version = await rt.store.deploys.rollback(body.to if body else None, created_by=caller.token.name)
    return VersionOut.of(version, version.number)
