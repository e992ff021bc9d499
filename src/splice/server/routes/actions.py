"""``POST /actions/{integration}/{action}``: run an action and wait for its output, or queue it.

Waiting (the default) runs it in this server's process, as the first attempt of a job that a
live worker queues should this process die, and answers with the output; if it takes longer
than ``timeout`` the answer is 202 with the run id to poll (``GET /runs/{id}``) and the run
goes on. ``wait: false`` queues it on the durable engine (any worker runs it) and
answers 202 with the job id (``GET /runs?job_id=``). A failed run is an error envelope with
the run id and its error's ``run_status``: the script's own ``ActionError`` keeps its status and
payload; a crash is 500, a time-out 504, the third party failing 502, a connection whose
credentials failed 409 — never a traceback.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from splice.errors import NotFound, RunError, SpliceError, error_from_dict
from splice.runtime import new_run_id
from splice.server._auth import CallerDep, RuntimeDep
from splice.server._bodies import JsonBody
from splice.server._errors import ERROR_RESPONSES, ErrorBody, error_response
from splice.store import RunRecord

router = APIRouter(prefix="/actions", tags=["actions"], responses=ERROR_RESPONSES)
#: runs still going after their caller stopped waiting; kept so they are not garbage-collected
_detached: set[asyncio.Task[RunRecord]] = set()


class ActionCall(JsonBody):
    connection_id: str | None = Field(default=None, max_length=128)
    input: Any = None
    wait: bool = Field(default=True, description="wait for the output (true) or queue the run on a worker (false)")
    timeout: float = Field(default=30.0, gt=0, le=300, description="seconds to wait before answering 202")


class ActionResult(BaseModel):
    run_id: str
    status: str
    output: Any = None


class Accepted(BaseModel):
    status: str = Field(description="running: poll GET /runs/{run_id}; queued: see GET /runs?job_id=")
    run_id: str | None = None
    job_id: str | None = None


@router.post(
    "/{integration}/{action}",
    summary="Run an action",
    response_model=ActionResult,
    responses={
        202: {"model": Accepted, "description": "still running, or queued"},
        500: {"model": ErrorBody, "description": "the action failed (the error names the run)"},
        502: {"model": ErrorBody, "description": "the third party failed (the error names the run)"},
        504: {"model": ErrorBody, "description": "the action ran out of time (the error names the run)"},
        "4XX": {"model": ErrorBody, "description": "the action refused, with the status its ActionError chose"},
        "5XX": {"model": ErrorBody, "description": "the action failed, with the status its ActionError chose"},
    },
)
async def run_action(
    integration: str, action: str, body: ActionCall, request: Request, rt: RuntimeDep, caller: CallerDep
) -> Any:
    caller.check(integration, body.connection_id, write=True)
    script = f"{integration}.{action}"
    if not body.wait:
        job = await rt.enqueue(script, connection=body.connection_id, input=body.input)
        return JSONResponse(Accepted(status="queued", job_id=job).model_dump(), status_code=202)
    if rt.project.integration(integration).script(action).kind != "action":
        raise NotFound(f"{script} is not an action")
    run_id = new_run_id()
    task = asyncio.create_task(
        rt.run(script, connection=body.connection_id, input=body.input, run_id=run_id, recoverable=True)
    )
    done, _ = await asyncio.wait({task}, timeout=body.timeout)
    if not done:
        _detached.add(task)
        task.add_done_callback(_detached.discard)
        return JSONResponse(Accepted(status="running", run_id=run_id).model_dump(), status_code=202)
    run = task.result()
    if run.status == "succeeded":
        return ActionResult(run_id=run.id, status=run.status, output=run.output)
    return _failure(request, run)


def _failure(request: Request, run: RunRecord) -> JSONResponse:
    error = _run_error(run)
    error.details = {k: v for k, v in error.details.items() if k != "traceback"}
    return error_response(request, error, error.run_status, run_id=run.id)


def _run_error(run: RunRecord) -> SpliceError:
    """The run's stored error as its class, which knows the status a failed run answers with."""
    if not run.error:
        return RunError(f"the run {run.status}")
    error = error_from_dict(run.error)
    error.message = error.message or f"the run {run.status}"
    return error
