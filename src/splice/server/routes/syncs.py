"""``/syncs``: each sync × connection's plan and last run; trigger, pause, resume, reschedule, reset."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from splice.server._auth import CallerDep, RuntimeDep
from splice.server._bodies import JsonBody
from splice.server._errors import ERROR_RESPONSES

router = APIRouter(prefix="/syncs", tags=["syncs"], responses=ERROR_RESPONSES)


class LastRun(BaseModel):
    id: str
    status: str
    attempt: int
    started_at: str | None
    finished_at: str | None
    progress: dict[str, Any] | None


class SyncStatus(BaseModel):
    sync: str
    connection: str
    schedule: str | None
    overridden: bool
    paused: bool
    connection_status: str
    last_run: LastRun | None
    next_run: str | None = Field(description="ISO time; null when paused, manual or the connection is broken")
    records: dict[str, dict[str, int]] = Field(description="per model: live and deleted counts")


class Triggered(BaseModel):
    job_id: str


class ScheduleChange(JsonBody):
    every: str | None = Field(default=None, description='"30s" … "31d"')
    cron: str | None = None


class ResetResult(BaseModel):
    sync: str
    connection: str
    records_deleted: int
    checkpoint_cleared: bool


async def _status(rt: RuntimeDep, integration: str, sync: str, connection_id: str) -> SyncStatus:
    return SyncStatus(**await rt.syncs.status(f"{integration}.{sync}", connection_id))


@router.get("", summary="List syncs per connection")
async def list_syncs(rt: RuntimeDep, caller: CallerDep, integration: str | None = None) -> list[SyncStatus]:
    if integration is not None:
        caller.check(integration)
    rows = await rt.syncs.list(integration)
    return [SyncStatus(**r) for r in rows if caller.sees(r["sync"].split(".", 1)[0], r["connection"])]


@router.get("/{integration}/{sync}/{connection_id}", summary="A sync's status for one connection")
async def get_sync(integration: str, sync: str, connection_id: str, rt: RuntimeDep, caller: CallerDep) -> SyncStatus:
    caller.check(integration, connection_id)
    return await _status(rt, integration, sync, connection_id)


@router.post(
    "/{integration}/{sync}/{connection_id}/trigger",
    status_code=202,
    summary="Run a sync now (409 SYNC_RUNNING while one is queued or running)",
)
async def trigger_sync(integration: str, sync: str, connection_id: str, rt: RuntimeDep, caller: CallerDep) -> Triggered:
    caller.check(integration, connection_id, write=True)
    return Triggered(job_id=await rt.syncs.trigger(f"{integration}.{sync}", connection_id))


@router.post("/{integration}/{sync}/{connection_id}/pause", summary="Stop scheduling a sync for a connection")
async def pause_sync(integration: str, sync: str, connection_id: str, rt: RuntimeDep, caller: CallerDep) -> SyncStatus:
    caller.check(integration, connection_id, write=True)
    await rt.syncs.pause(f"{integration}.{sync}", connection_id)
    return await _status(rt, integration, sync, connection_id)


@router.post("/{integration}/{sync}/{connection_id}/resume", summary="Schedule a paused sync again")
async def resume_sync(integration: str, sync: str, connection_id: str, rt: RuntimeDep, caller: CallerDep) -> SyncStatus:
    caller.check(integration, connection_id, write=True)
    await rt.syncs.resume(f"{integration}.{sync}", connection_id)
    return await _status(rt, integration, sync, connection_id)


@router.put(
    "/{integration}/{sync}/{connection_id}/schedule",
    summary="Override the schedule for a connection (both fields null: back to the declared one)",
)
async def schedule_sync(
    integration: str, sync: str, connection_id: str, body: ScheduleChange, rt: RuntimeDep, caller: CallerDep
) -> SyncStatus:
    caller.check(integration, connection_id, write=True)
    return SyncStatus(**await rt.syncs.schedule(f"{integration}.{sync}", connection_id, every=body.every,
                                                cron=body.cron))  # fmt: skip


@router.post(
    "/{integration}/{sync}/{connection_id}/reset",
    summary="Delete the sync's records and checkpoint for a connection (409 while it runs)",
)
async def reset_sync(integration: str, sync: str, connection_id: str, rt: RuntimeDep, caller: CallerDep) -> ResetResult:
    caller.check(integration, connection_id, write=True)
    return ResetResult(**await rt.syncs.reset(f"{integration}.{sync}", connection_id))
