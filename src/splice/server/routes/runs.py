"""``/runs``: list, filter and read runs (actions, syncs, triggers…), newest first.

A token limited to some integrations or connections only ever sees their runs: the limits
are passed to the query, so a page is as full as it would be for that tenant alone, and a
run outside them is 404 like a missing one. A run without a connection (an integration whose
auth needs none) belongs to its integration: any token whose integrations include it sees
it, even one limited to some connections (as ``Caller.sees`` has it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from splice.errors import NotFound
from splice.runtime import Runtime
from splice.server._auth import Caller, CallerDep, RuntimeDep
from splice.server._errors import ERROR_RESPONSES
from splice.server._truncate import clip
from splice.store import RunRecord

router = APIRouter(prefix="/runs", tags=["runs"], responses=ERROR_RESPONSES)

RunStatus = Literal["queued", "running", "succeeded", "failed", "timed_out", "cancelled"]
#: run ids are ``run_`` plus a few dozen characters; anything far longer is not one
RunId = Annotated[str, Path(min_length=1, max_length=128, description="a run id, e.g. from `GET /runs`")]


class RunOut(BaseModel):
    """One execution of a script; ``output`` or ``error`` once it finished."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    integration: str
    script: str
    connection_id: str | None
    status: RunStatus
    input: Any
    output: Any
    error: dict[str, Any] | None
    attempt: int
    parent_id: str | None
    job_id: str | None
    test_mode: bool
    progress: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: float | None
    step: str | None = Field(default=None, description="a flow's step run: the step's key in its flow run")
    version: str | None = Field(default=None, description="a flow run: the version of the flow it ran")
    project_version: int | None = Field(
        default=None, description="the deployed project version (`GET /deploys`) whose code ran; null: files on disk"
    )
    steps: list[RunOut] | None = Field(
        default=None, description="a flow run (GET /runs/{id} only): its step runs, in the order they started"
    )

    @classmethod
    def of(cls, record: RunRecord) -> RunOut:
        return cls.model_validate(record)

    @classmethod
    def listed(cls, record: RunRecord) -> RunOut:
        """As ``GET /runs`` shows it: ``input``, ``output``, ``error`` and ``progress`` over 4,096
        bytes of JSON are ``{"_truncated": true, "bytes": N}``."""
        run = cls.of(record)
        for name in ("input", "output", "error", "progress"):
            setattr(run, name, clip(getattr(run, name)))
        return run


def scope_filters(caller: Caller) -> dict[str, Any]:
    """The token's limits as ``integrations=`` / ``connection_ids=`` filters for runs and logs.

    A token limited to connections does not see runs without one (a webhook that was not
    routed to a connection may carry any tenant's data).
    """
    scope = caller.token.scope
    connections = None if scope.connections is None else tuple(scope.connections)
    return {"integrations": scope.integrations, "connection_ids": connections}


def split_script(integration: str | None, script: str | None) -> tuple[str | None, str | None] | None:
    """``script`` may be qualified (``acme.echo``), as the CLI takes it; its integration then applies too.

    ``None`` when it names another integration than ``integration``: nothing can match.
    """
    if script is None or "." not in script:
        return integration, script
    owner, _, name = script.partition(".")
    if integration is not None and integration != owner:
        return None
    return owner, name


async def visible_run(rt: Runtime, caller: Caller, run_id: str) -> RunRecord:
    """The run ``run_id`` names if the token may see it; else 404, as if it did not exist.

    The one check of a run's visibility, for the REST API and the dashboard alike.
    """
    try:
        record: RunRecord | None = await rt.runs.get(run_id, **scope_filters(caller))
    except NotFound:
        record = None
    limited = caller.token.scope.connections is not None and record is not None and record.connection_id is None
    if record is None or limited or not caller.sees(record.integration, record.connection_id):
        raise NotFound(f"run {run_id!r} not found", details={"id": run_id}, hint="GET /runs lists the runs you may see")
    return record


NameQuery = Annotated[str | None, Query(min_length=1, max_length=128)]
ScriptQuery = Annotated[
    str | None, Query(min_length=1, max_length=257, description="`echo`, or qualified: `acme.echo`")
]


@router.get("", summary="List runs")
async def list_runs(
    rt: RuntimeDep,
    caller: CallerDep,
    integration: NameQuery = None,
    script: ScriptQuery = None,
    connection_id: NameQuery = None,
    status: RunStatus | None = None,
    kind: Annotated[str | None, Query(min_length=1, max_length=32, description="action, sync, trigger…")] = None,
    since: Annotated[datetime | None, Query(description="ISO 8601; runs created at or after it")] = None,
    job_id: NameQuery = None,
    parent_id: Annotated[
        str | None, Query(min_length=1, max_length=128, description="only the runs this run started")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[
        str | None, Query(min_length=1, max_length=128, description="the last run id of the previous page")
    ] = None,
) -> list[RunOut]:
    """Newest first, ``limit`` at a time; pass the last id as ``before`` for the next page.

    Filters outside the token's scope are not an error: they match nothing, as for a tenant
    that has no such runs. An ``input``, ``output``, ``error`` or ``progress`` over 4,096 bytes
    of JSON is listed as `{"_truncated": true, "bytes": N}`: `GET /runs/{run_id}` has it whole.
    """
    names = split_script(integration, script)
    if names is None:
        return []
    records = await rt.runs.find(
        integration=names[0],
        script=names[1],
        connection_id=connection_id,
        status=status,
        kind=kind,
        since=since,
        job_id=job_id,
        parent_id=parent_id,
        limit=limit,
        before_id=before,
        **scope_filters(caller),
    )
    return [RunOut.listed(record) for record in records]


@router.get("/{run_id}", summary="Get a run")
async def get_run(run_id: RunId, rt: RuntimeDep, caller: CallerDep) -> RunOut:
    """One run with its input, output or error and progress; its steps are `GET /runs?parent_id=`.

    `run_id` may be short: the last characters of an id (8 in the CLI's listings), when they
    name one run the token may see (422 `AMBIGUOUS_ID` naming them when several do)."""
    record = await visible_run(rt, caller, run_id)
    run = RunOut.of(record)
    if record.kind == "flow":
        children = await rt.runs.find(parent_id=record.id, limit=10_000)
        run.steps = [RunOut.listed(child) for child in reversed(children)]
    return run
