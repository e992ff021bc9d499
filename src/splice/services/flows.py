"""``rt.flows``: list, create, run and retry flows.

A flow runs as a job on the durable engine (``background=True``, webhooks, ``POST
/flows/{id}/run``: a worker runs it and a crashed worker's run resumes where it stopped), or
right here (the default of ``rt.flows.run`` and ``splice flows run``, like ``splice run``). Either
way the run row is written first, so its id is known at once, and the flow's document is
remembered by version, so a retry can run the version a run started with.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from splice._engine.jobs import JobQueue
from splice._runtime.flow_runner import FlowAttempt, integrations_of
from splice._runtime.jobs import FLOW_JOB
from splice._runtime.request import LogCallback, new_run_id
from splice._runtime.runner import Runner
from splice._runtime.versions import Versions
from splice.errors import (
    Cancelled,
    Conflict,
    InternalError,
    InvalidInput,
    NotFound,
    SpliceError,
    WorkerLost,
    error_from_dict,
)
from splice.flows import Flow, _chain
from splice.flows._check import check_flow
from splice.project import Project
from splice.store import Connection, RunRecord, SecretBox, Store

logger = logging.getLogger("splice.flows")
_POLL = 0.05
#: seconds the API-created flows are kept before they are read again
STORED_TTL = 1.0
#: a scheduled flow's row in ``sync_schedules`` (beside the syncs'): ``flow:<name>``
FLOW_KEY = "flow:"


class Flows:
    """The flows of a project (declared in code) and those created over the API (stored)."""

    def __init__(
        self, versions: Versions, store: Store, runner: Runner, jobs: Callable[[], JobQueue], secrets: SecretBox
    ) -> None:
        self.versions = versions
        self.store = store
        self.secrets = secrets
        self.runner = runner
        self._jobs = jobs
        self._cache: tuple[float, list[Flow]] | None = None

    @property
    def project(self) -> Project:
        """The project's current version: its flows are the ones listed and started."""
        return self.versions.project

    # --- the flows ---------------------------------------------------------------------------

    async def list(self) -> list[Flow]:
        return [*self.project.flows(), *await self._stored()]

    async def bound(self, integration: str, trigger: str) -> list[Flow]:
        """The flows a webhook trigger's payload starts (asked on every webhook: kept for a second)."""
        return [f for f in await self.list() if f.trigger.type == "webhook" and f.integration == integration
                and f.trigger.trigger == trigger]  # fmt: skip

    async def _stored(self) -> list[Flow]:
        """The API-created flows, read again at most once a second (and after a change made here):
        a flow created on another server starts its webhooks' runs within a second."""
        now = asyncio.get_running_loop().time()
        if self._cache is None or now - self._cache[0] > STORED_TTL:
            flows = [Flow.from_document(s.document) for s in await self.store.flows.list()]
            self._cache = (now, flows)
        return self._cache[1]

    async def get(self, flow_id: str) -> Flow:
        try:
            return self.project.flow(flow_id)
        except NotFound:
            pass
        try:
            return Flow.from_document((await self.store.flows.get(flow_id)).document)
        except NotFound:
            known = ", ".join(f.id for f in await self.list()) or "none"
            raise NotFound(f"unknown flow {flow_id!r} (flows: {known})", details={"id": flow_id}) from None

    async def create(self, document: Mapping[str, Any]) -> Flow:
        """A flow from its JSON document (its code steps name the project's step functions)."""
        self._refuse_code_flow(f"{document.get('integration')}.{document.get('name')}")
        flow = self._checked(document)
        await self.store.flows.create(flow.document())
        self._cache = None
        return flow

    async def replace(self, flow_id: str, document: Mapping[str, Any]) -> Flow:
        self._refuse_code_flow(flow_id)
        flow = self._checked({**document, "id": flow_id})
        if flow.id != flow_id:
            raise InvalidInput(f"the document's id {flow.id!r} is not {flow_id!r}", code="INVALID_FLOW")
        await self.store.flows.replace(flow.document())
        self._cache = None
        return flow

    async def delete(self, flow_id: str) -> None:
        self._refuse_code_flow(flow_id)
        await self.store.flows.delete(flow_id)
        self._cache = None

    def _checked(self, document: Mapping[str, Any]) -> Flow:
        flow = Flow.from_document(document, source="api")
        check_flow(flow, self.project.integrations)
        return flow

    def _refuse_code_flow(self, flow_id: str) -> None:
        if any(f.id == flow_id for f in self.project.flows()):
            raise Conflict(
                f"flow {flow_id} is declared in the project's code; it cannot be changed over the API",
                code="READ_ONLY",
                hint="change it in the integrations package (or create a flow with another name)",
            )

    # --- running -----------------------------------------------------------------------------

    async def run(
        self,
        flow_id: str,
        *,
        connection: str | None = None,
        payload: Any = None,
        connections: Mapping[str, str] | None = None,
        background: bool = False,
        on_log: LogCallback | None = None,
        chain: tuple[str, ...] = (),
    ) -> RunRecord:
        """Start a run of ``flow_id`` for ``connection`` (the customer); ``connections`` maps an
        integration to another connection id. Right here and waited for, or queued on a worker
        (``background=True``: the queued run comes back; ``rt.flows.wait(run.id)`` waits).
        """
        flow = await self.get(flow_id)
        _chain.refuse_cycle(flow.id, chain)
        record = await self._create(flow, connection, payload, dict(connections or {}), chain=(*chain, flow.id))
        if background:
            return await self._enqueue(flow, record)
        return await self.execute(record.id, on_log=on_log)

    async def retry(
        self,
        run_id: str,
        *,
        from_step: str | None = None,
        version: Literal["original", "latest"] = "original",
        background: bool = False,
        on_log: LogCallback | None = None,
    ) -> RunRecord:
        """A new run of a failed flow run: from its failed step (or ``from_step``, or the start
        with ``from_step="start"``), reusing the results of the steps before it; on the version
        the run started with, or the flow's latest."""
        old = await self.store.runs.get(run_id)
        if old.kind != "flow":
            raise InvalidInput(f"run {run_id} is a {old.kind} run, not a flow run", code="INVALID_INPUT")
        if old.status not in ("failed", "timed_out", "cancelled"):
            raise Conflict(f"run {run_id} is {old.status}; only a failed flow run can be retried", code="NOT_FAILED")
        if version not in ("original", "latest"):
            raise InvalidInput(f"version must be 'original' or 'latest', not {version!r}")
        flow_id = f"{old.integration}.{old.script}"
        if version == "latest":
            flow = await self.get(flow_id)
        else:
            flow = Flow.from_document(await self.store.flows.version(flow_id, old.version or ""), source="api")
        check_flow(flow, self.project.integrations)
        failed = from_step or (old.error or {}).get("step") or "start"
        if failed != "start":
            failed = flow.step(failed).name
        stored = dict(old.input or {})
        record = await self._create(
            flow, old.connection_id, stored.get("payload"), dict(stored.get("connections") or {}),
            retry_of=old.id, from_step=failed, chain=tuple(stored.get("chain") or ()),
        )  # fmt: skip
        await self._reuse(flow, old, record, failed)
        if background:
            return await self._enqueue(flow, record)
        return await self.execute(record.id, on_log=on_log)

    async def wait(self, run_id: str, timeout: float | None = None) -> RunRecord:
        """The flow run once it has finished (polling the store: any worker may run it), or as it
        is after ``timeout`` seconds. A queued run that its worker's stop or death interrupted is
        not finished: it resumes when a worker with that id starts again."""
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        while True:
            record = await self.store.runs.get(run_id)
            finished = record.status in ("succeeded", "failed", "timed_out", "cancelled")
            if finished and not (record.job_id and _resumable(record, record.job_id)):
                return record
            if deadline is not None and asyncio.get_running_loop().time() >= deadline:
                return record
            await asyncio.sleep(_POLL)

    async def execute(self, run_id: str, *, job_id: str | None = None, on_log: LogCallback | None = None) -> RunRecord:
        """Run (or resume) the flow run ``run_id`` here; the finished run comes back.

        A run that finished already comes back as it is (an engine replaying a job); one a dead or
        stopped worker left behind continues as its next attempt, skipping the steps that succeeded.
        """
        record = await self.store.runs.get(run_id)
        if record.status in ("succeeded", "failed", "timed_out", "cancelled") and not _resumable(record, job_id):
            return record
        flow_id = f"{record.integration}.{record.script}"
        flow = Flow.from_document(await self.store.flows.version(flow_id, record.version or ""), source="api")
        if record.status != "queued":
            record.attempt += 1
        record.status, record.error, record.job_id = "running", None, job_id or record.job_id
        record.owner = self.runner.owner
        record.started_at = record.started_at if record.attempt > 1 else _now()
        await self.versions.refresh()
        async with self.versions.hold() as version:  # the attempt's steps run on it, deploys notwithstanding
            record.project_version = version.deployed
            await self.store.runs.restart(record)
            output, error = await self._attempt(flow, record, version.project, on_log)
        return await self._end(record, output, error, "failed" if error else "succeeded")

    async def _attempt(
        self, flow: Flow, record: RunRecord, project: Project, on_log: LogCallback | None
    ) -> tuple[Any, dict[str, Any] | None]:
        """One attempt's result or error; a cancelled attempt is stored as cancelled, then re-raised."""
        try:
            connections = await self._connections(flow, record)
            headers = {_chain.HEADER: _chain.seal(self.secrets, tuple((record.input or {}).get("chain") or (flow.id,)))}
            attempt = FlowAttempt(self.runner, flow, record, connections, project, api_headers=headers, on_log=on_log)
            return await attempt.run()
        except asyncio.CancelledError:
            cancelled = Cancelled("the flow run was cancelled by its caller").to_dict()
            await asyncio.shield(self._end(record, None, cancelled, "cancelled"))
            raise
        except SpliceError as exc:  # e.g. a connection deleted while the run was queued
            return None, exc.to_dict()
        except Exception as exc:
            logger.error("flow run %s failed inside splice", record.id, exc_info=exc)
            return None, InternalError(f"splice failed while running this flow: {exc!r}").to_dict()

    # --- schedules ---------------------------------------------------------------------------

    async def start_scheduled(self, flow: Flow, connection_id: str) -> bool:
        """The scheduler's start of ``flow`` for a connection: a job, unless a run of it is still on."""
        for status in ("queued", "running"):
            busy = await self.store.runs.find(integration=flow.integration, script=flow.name,
                                              connection_id=connection_id, status=status, limit=1)  # fmt: skip
            if busy:
                return False
        await self.run(flow.id, connection=connection_id, background=True)
        return True

    async def pause(self, flow_id: str, connection: str | None = None) -> list[str]:
        """Stop scheduling a flow (for one connection, or all); returns the connections paused."""
        return await self._set_paused(flow_id, connection, True)

    async def resume(self, flow_id: str, connection: str | None = None) -> list[str]:
        return await self._set_paused(flow_id, connection, False)

    async def _set_paused(self, flow_id: str, connection: str | None, paused: bool) -> list[str]:
        flow = await self.get(flow_id)
        if flow.trigger.type != "schedule":
            raise InvalidInput(f"flow {flow.id} has no schedule (it starts on {flow.trigger.type})")
        if connection is not None:
            ids = [(await self.store.connections.get(flow.integration, connection)).id]
        else:
            ids = [c.id for c in await self.store.connections.find(flow.integration)]
        for conn_id in ids:
            await self.store.schedules.set_paused(flow.integration, FLOW_KEY + flow.name, conn_id, paused)
            if not paused:
                await self.store.schedules.set_next_run(flow.integration, FLOW_KEY + flow.name, conn_id, None)
        return ids

    # --- the engine's side -------------------------------------------------------------------

    async def run_job(self, run_id: str, job_id: str) -> RunRecord:
        """A flow job's attempt (the engine calls this, once, or again after a worker died)."""
        lost = WorkerLost("the worker running this flow stopped; the run resumes at its first unfinished step")
        await self.store.runs.interrupt(job_id, lost.to_dict())
        return await self.execute(run_id, job_id=job_id)

    # --- helpers -----------------------------------------------------------------------------

    async def _create(
        self,
        flow: Flow,
        connection: str | None,
        payload: Any,
        connections: dict[str, str],
        *,
        chain: tuple[str, ...],
        retry_of: str | None = None,
        from_step: str | None = None,
    ) -> RunRecord:
        """The queued run row, after checking the connections every step's integration needs."""
        document = flow.document()
        record = RunRecord(
            id=new_run_id(), kind="flow", integration=flow.integration, script=flow.name, connection_id=connection,
            status="queued", input={"payload": payload, "connections": connections, "chain": list(chain),
                                    "retry_of": retry_of, "from_step": from_step},
            created_at=_now(), owner=self.runner.owner, version=document["version"],
        )  # fmt: skip
        await self._connections(flow, record)
        self.runner.check_input(f"flow {flow.id}", payload)
        await self.store.flows.remember(document)
        return await self.store.runs.create(record)

    async def _connections(self, flow: Flow, record: RunRecord) -> dict[str, Connection | None]:
        """The connection of each integration the flow uses; a missing one is a clear error."""
        mapped: dict[str, str] = dict((record.input or {}).get("connections") or {})
        found: dict[str, Connection | None] = {}
        for integration in integrations_of(flow, self.project.integrations):
            conn_id = mapped.get(integration.name, record.connection_id)
            if conn_id is None:
                if integration.auth.fields:
                    raise InvalidInput(
                        f"flow {flow.id} uses {integration.name}, which needs a connection",
                        hint="run the flow for a connection: splice flows run FLOW -c ID",
                        hints={"rest": 'send "connection_id"'},
                    )
                found[integration.name] = None
                continue
            try:
                found[integration.name] = await self.store.connections.get(integration.name, conn_id)
            except NotFound:
                raise NotFound(
                    f"flow {flow.id} uses {integration.name}, and {integration.name} has no connection {conn_id!r}",
                    details={"integration": integration.name, "connection": conn_id},
                    hint=f"add it, or map {integration.name} to another connection id (connections={{...}})",
                ) from None
        return found

    async def _reuse(self, flow: Flow, old: RunRecord, record: RunRecord, from_step: str) -> None:
        """Copy the old run's results of the steps before ``from_step`` into the new run."""
        if from_step == "start":
            return
        order = [s.name for s in flow.steps]
        before = set(order[: order.index(from_step)]) if from_step in order else set()
        for child in reversed(await self.store.runs.find(parent_id=old.id, limit=100_000)):
            top = (child.step or "").split("[")[0].split("/")[0]
            if child.status != "succeeded" or top not in before:
                continue
            copy = RunRecord(
                id=new_run_id(), kind=child.kind, integration=child.integration, script=child.script,
                connection_id=child.connection_id, status="succeeded", input={"reused_from": child.id},
                output=child.output, attempt=child.attempt, parent_id=record.id, created_at=_now(),
                started_at=_now(), finished_at=_now(), duration_ms=0.0, owner=self.runner.owner, step=child.step,
            )  # fmt: skip
            await self.store.runs.create(copy)

    async def _enqueue(self, flow: Flow, record: RunRecord) -> RunRecord:
        job = await self._jobs().enqueue(FLOW_JOB + flow.id, record.connection_id, {"run_id": record.id}, dedup=None)
        await self.store.runs.set_job(record.id, job)
        record.job_id = job
        return record

    async def _end(self, record: RunRecord, output: Any, error: dict[str, Any] | None, status: str) -> RunRecord:
        record.status, record.output, record.error = status, output, error
        record.finished_at = _now()
        return await self.store.runs.complete(record)


def _now() -> datetime:
    return datetime.now(UTC)


def _resumable(record: RunRecord, job_id: str | None) -> bool:
    """A run its worker left behind: lost with it, or (as a recovered job) cancelled by its stop."""
    error = error_from_dict(record.error) if record.error else None
    return isinstance(error, WorkerLost) or (job_id is not None and isinstance(error, Cancelled))
