"""``/flows``: flows as JSON documents — list, read, create, replace, delete, run — and retries.

A flow declared in the project's code is read-only here (409 ``READ_ONLY`` on a change); one
created with ``POST /flows`` is stored. ``POST /flows/{id}/run`` queues a durable run on the
engine (``splice serve`` runs it) and, with ``wait`` (the default), answers with its result
when it ends within ``timeout`` seconds, else 202 with the run id to poll.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from splice.errors import error_from_dict
from splice.server._auth import CallerDep, RuntimeDep
from splice.server._bodies import JsonBody
from splice.server._errors import ERROR_RESPONSES, error_response
from splice.server.routes.runs import RunOut
from splice.store import RunRecord

router = APIRouter(tags=["flows"], responses=ERROR_RESPONSES)
FlowId = Annotated[str, Path(min_length=3, max_length=255, description="integration.name, e.g. acme.onboard")]


class FlowSummary(BaseModel):
    id: str
    integration: str
    name: str
    description: str
    trigger: dict[str, Any]
    source: str = Field(description="code: declared in the project (read-only); api: created over the API")
    version: str
    steps: int = Field(description="how many top-level steps")


class FlowRun(JsonBody):
    connection_id: str | None = Field(default=None, max_length=128, description="the customer's connection id")
    payload: Any = Field(default=None, description="what the flow's expressions see as trigger.payload")
    connections: dict[str, str] = Field(default_factory=dict, description="integration → another connection id")
    wait: bool = Field(default=True, description="wait for the result (up to timeout) or answer 202 at once")
    timeout: float = Field(default=30.0, gt=0, le=300)


class FlowRetry(JsonBody):
    from_step: str | None = Field(default=None, description="a step's name, or 'start'; default: the failed step")
    version: Literal["original", "latest"] = "original"
    wait: bool = True
    timeout: float = Field(default=30.0, gt=0, le=300)


def _summary(document: dict[str, Any]) -> FlowSummary:
    return FlowSummary(**{k: document[k] for k in ("id", "integration", "name", "description", "trigger", "source",
                                                   "version")}, steps=len(document["steps"]))  # fmt: skip


@router.get("/flows", summary="List flows")
async def list_flows(rt: RuntimeDep, caller: CallerDep) -> list[FlowSummary]:
    return [_summary(f.document()) for f in await rt.flows.list() if caller.sees(f.integration)]


@router.get("/flows/{flow_id}", summary="Get a flow's document")
async def get_flow(flow_id: FlowId, rt: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
    flow = await rt.flows.get(flow_id)
    caller.check(flow.integration)
    return flow.document()


@router.post("/flows", summary="Create a flow from its document", status_code=201)
async def create_flow(document: dict[str, Any], rt: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
    caller.check(str(document.get("integration") or ""), write=True)
    return (await rt.flows.create(document)).document()


@router.put("/flows/{flow_id}", summary="Replace a flow's document (a new version)")
async def replace_flow(flow_id: FlowId, document: dict[str, Any], rt: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
    caller.check(flow_id.partition(".")[0], write=True)
    return (await rt.flows.replace(flow_id, document)).document()


@router.delete("/flows/{flow_id}", summary="Delete a flow created over the API", status_code=204)
async def delete_flow(flow_id: FlowId, rt: RuntimeDep, caller: CallerDep) -> None:
    caller.check(flow_id.partition(".")[0], write=True)
    await rt.flows.delete(flow_id)


@router.post(
    "/flows/{flow_id}/run",
    summary="Run a flow",
    response_model=RunOut,
    responses={202: {"model": RunOut, "description": "still running or queued: poll GET /runs/{id}"}},
)
async def run_flow(flow_id: FlowId, body: FlowRun, request: Request, rt: RuntimeDep, caller: CallerDep) -> Any:
    flow = await rt.flows.get(flow_id)
    caller.check(flow.integration, body.connection_id, write=True)
    run = await rt.flows.run(flow.id, connection=body.connection_id, payload=body.payload,
                             connections=body.connections, background=True)  # fmt: skip
    return await _answer(request, rt, run, body.wait, body.timeout)


@router.post(
    "/runs/{run_id}/retry",
    summary="Retry a failed flow run",
    response_model=RunOut,
    responses={202: {"model": RunOut, "description": "still running or queued: poll GET /runs/{id}"}},
)
async def retry_run(run_id: str, body: FlowRetry, request: Request, rt: RuntimeDep, caller: CallerDep) -> Any:
    old = await rt.runs.get(run_id)
    caller.check(old.integration, old.connection_id, write=True)
    run = await rt.flows.retry(run_id, from_step=body.from_step, version=body.version, background=True)
    return await _answer(request, rt, run, body.wait, body.timeout)


async def _answer(request: Request, rt: RuntimeDep, run: RunRecord, wait: bool, timeout: float) -> Any:
    if wait:
        run = await rt.flows.wait(run.id, timeout=timeout)
    if run.status in ("queued", "running"):
        return JSONResponse(RunOut.listed(run).model_dump(mode="json"), status_code=202)
    if run.status == "succeeded":
        return RunOut.of(run)
    error = error_from_dict(run.error or {})
    return error_response(request, error, error.run_status, run_id=run.id)
