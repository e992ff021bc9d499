"""The one way a run happens: a :class:`RunRequest` in, a stored run out.

Everything that starts a run — the Python API, the CLI, REST, a queued job, a webhook, a
script's ``ctx.trigger_action`` — builds a request and calls :meth:`Runner.run`. The runner
stores the run, prepares what its kind grants (clients, capability handlers), executes the
script (a sandboxed child or in-process), lets the capabilities see the outcome (a sync's
records are written there) and stores the result with every field masked. Whatever goes
wrong once the row exists ends the run: nothing is left ``running``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from splice import _json
from splice._http.redact import Redactor
from splice._http.retry import RetryPolicy
from splice._runtime.apis import ApiFactory
from splice._runtime.capabilities import EngineServices, RunScope, handlers
from splice._runtime.gateway import RunGateway
from splice._runtime.kinds import RunKind, kind_of
from splice._runtime.progress import Progress
from splice._runtime.records import RecordWriter
from splice._runtime.request import MAX_NESTING, RunOutcome, RunRequest
from splice._runtime.spawner import alive
from splice._runtime.versions import Version, Versions
from splice.config import ProjectConfig, RuntimeSection
from splice.errors import Cancelled, InternalError, InvalidInput, SpliceError, WorkerLost, error_from_dict
from splice.integration import Script
from splice.project import Project
from splice.store import Connection, RunRecord, Store

logger = logging.getLogger("splice")


class Runner:
    """Runs scripts of one project against one store; shared by every caller of a runtime.

    Each run uses the project's current version (:mod:`splice._runtime.versions`) when it
    starts, and keeps it to the end, whatever changes meanwhile. ``owner`` is stored on
    every run it starts: a worker sets its executor id, so when it starts again after a crash
    it can fail the runs it left ``running`` (:meth:`abandon_runs`).
    """

    def __init__(
        self, versions: Versions, store: Store, apis: ApiFactory, engine: EngineServices | None = None
    ) -> None:
        self.versions = versions
        self.store = store
        self.apis = apis
        #: what scripts' ``ctx.engine`` calls (None: a runner without it refuses ctx.engine)
        self.engine = engine
        self.owner = local_owner()
        #: queues the job of a lost recoverable run (a waiting action); None: such runs just fail
        self.requeue: Callable[[RunRecord], Awaitable[None]] | None = None

    @property
    def project(self) -> Project:
        """The current version's project."""
        return self.versions.project

    # --- requests ------------------------------------------------------------------------

    async def request(
        self, script: str | Script, *, connection: str | None = None, input: Any = None, **options: Any
    ) -> RunRequest:
        """A request to run ``script`` by name; refuses (before any run is stored) an unknown
        script or connection, a missing connection, an input the script's kind does not take."""
        if isinstance(script, Script):
            target = script
        else:
            project = (await self.versions.refresh()).project
            project.check_complete()
            target = project.script(script)
        kind = kind_of(target)
        kind.check_request(target, input)
        self.check_input(f"the input of {target.qualname}", input)
        conn = await self.connection_for(target, connection)
        kind.check_input(target, input)
        return RunRequest(script=target, connection=conn, input=input, **options)

    def check_input(self, what: str, raw: Any) -> None:
        """Plain JSON, without NaN or Infinity, of at most ``[runtime] max_input_kb``."""
        limit = self.project.config.runtime.max_input_kb * 1024
        refusal = _json.oversize(_json.encode(raw, "the input", "input"), limit, what, "input")
        if refusal is not None:
            raise InvalidInput(
                **refusal, code="INPUT_TOO_LARGE",
                hint="send less (large data belongs in your own storage, passed by reference), "
                "or raise [runtime] max_input_kb in splice.toml",
            )  # fmt: skip

    async def connection_for(self, script: Script, connection: str | None) -> Connection | None:
        """The connection ``script`` runs with; an integration with auth needs one."""
        if connection is None:
            if script.integration.auth.fields:
                raise InvalidInput(
                    f"{script.qualname} needs a connection",
                    details={"field": "connection_id"},
                    hint=f"pass --connection ID (see `splice connections list {script.integration.name}`)",
                    hints={"rest": f'send "connection_id" (GET /connections?integration={script.integration.name})'},
                )
            return None
        return await self.store.connections.get(script.integration.name, connection)

    # --- running -------------------------------------------------------------------------

    async def run(self, request: RunRequest) -> RunRecord:
        """Run ``request`` and wait for it; the stored run (status, output or error) comes back.

        A sync already running for the connection raises :class:`~splice.errors.Conflict`
        (``SYNC_RUNNING``) before anything is stored.
        """
        await self.versions.refresh()
        async with self.versions.use(request.script) as (version, script):
            if script is not request.script:
                request = replace(request, script=script)
            kind = kind_of(script)
            if kind.background and not request.background:
                request = replace(request, background=True)
            async with kind.exclusive(self.store, script, request.connection, request.job_id or request.run_id):
                return await self._run(version, kind, request)

    async def _run(self, version: Version, kind: RunKind, request: RunRequest) -> RunRecord:
        redactor = Redactor(request.secrets)
        env: dict[str, str] = {}
        unreadable: SpliceError | None = None
        try:
            env = await self._secrets(redactor, request.connection)
        except SpliceError as exc:  # the secrets cannot be read (a changed key): the run fails, stored
            unreadable = exc
        record, created = await self._create(request, redactor, version.deployed)
        gateway: RunGateway | None = None
        progress: Progress | None = None
        try:
            if unreadable is not None:
                raise unreadable
            config = version.project.config
            gateway, start = await self._prepare(kind, request, record, redactor, env, config)
            gateway.after(created)
            if gateway.scope.records is not None:
                progress = Progress(self.store, record.id, gateway, request.on_progress)
            limit = request.time_limit or kind.time_limit(request.script, config.runtime)
            limits = self._limits(limit, config.runtime)
            if request.sessions is None:
                outcome = await version.executor.execute(request.script, gateway, start, limit, limits)
            else:
                conn = request.connection
                with request.sessions.session(
                    version.executor, (conn.integration, conn.id) if conn else None
                ) as session:
                    outcome = await version.executor.execute(request.script, gateway, start, limit, limits, session)
            outcome = await gateway.finish(outcome)
        except SpliceError as exc:
            outcome = RunOutcome.failed(exc)
        except asyncio.CancelledError:
            await asyncio.shield(self._cancelled(record, created, gateway, progress, redactor))
            raise
        except Exception as exc:
            outcome = RunOutcome.failed(_internal_error(record, exc))
        return await self._settle(record, outcome, gateway, progress, redactor, request.deferred)

    async def _create(
        self, request: RunRequest, redactor: Redactor, deployed: int | None
    ) -> tuple[RunRecord, asyncio.Future[None] | None]:
        """The run's row, stored; for a deferred run, being stored (the future says when).
        ``deployed``: the deployed version whose code runs."""
        now = _now()
        script = request.script
        record = RunRecord(
            id=request.run_id,
            kind=script.kind,
            integration=script.integration.name,
            script=script.name,
            connection_id=request.connection.id if request.connection else None,
            status="running",
            input=redactor.value(request.stored_input),
            attempt=request.attempt,
            parent_id=request.parent_id,
            created_at=now,
            started_at=now,
            job_id=request.job_id,
            owner=self.owner,
            step=request.step,
            project_version=deployed,
        )
        if request.deferred is None:
            return await self.store.runs.create(record), None
        created = self.store.runs.create_later(record)
        request.deferred.append(created)
        return record, created

    async def _secrets(self, redactor: Redactor, conn: Connection | None) -> dict[str, str]:
        """Teach ``redactor`` the run's secrets (operator variables, the connection's credentials);
        the variables come back for the script."""
        env = await self.store.env.all()
        redactor.add_env(env)
        if conn is not None:
            redactor.add_credentials(conn.credentials)
        return env

    async def _prepare(
        self,
        kind: RunKind,
        request: RunRequest,
        record: RunRecord,
        redactor: Redactor,
        env: dict[str, str],
        project: ProjectConfig,
    ) -> tuple[RunGateway, dict[str, Any]]:
        """The run's gateway (its capability handlers) and the start message its script gets;
        ``project`` is the settings of the project version the run uses."""
        script, conn = request.script, request.connection
        settings = project.runtime
        budget = settings.rate_limit_budget_background if request.background else settings.rate_limit_budget_interactive
        policy = RetryPolicy(rate_limit_budget=budget, error_attempts=settings.max_attempts)

        async def nested(name: str, input: Any, connection: str | None) -> Any:
            return await self._nested(request, name, input, connection)

        scope = RunScope(request.run_id, script, self.store, conn, redactor, nested, lambda *line: gateway.log(*line),
                         engine=self.engine, grants=project.engine.grants)  # fmt: skip
        gateway = RunGateway(scope, handlers(kind.capabilities, scope), kind.name, on_log=request.on_log)
        if "records" in gateway.handlers:
            scope.records = RecordWriter(
                self.store, script, conn.id if conn else "", request.job_id or request.run_id, scope.log
            )
        config: dict[str, Any] = {}
        credentials: dict[str, Any] = {}
        if conn is not None:
            config = script.integration.resolve_config(conn.config)
            scope.api = await self.apis.connection_api(script.integration, conn, redactor, gateway.log_request, policy)
            credentials = scope.api.credentials
        scope.internal_api = self.apis.internal_api(project.internal_api, env, redactor, gateway.log_request, policy)
        for api in (scope.api, scope.internal_api):
            if api is not None and request.api_headers:
                api.default_headers.update(request.api_headers)
        start = {
            "t": "start",
            "run": {
                "id": request.run_id,
                "integration": script.integration.name,
                "script": script.name,
                "kind": script.kind,
                "connection_id": conn.id if conn else None,
                "started_at": (record.started_at or _now()).isoformat(),
                "attempt": request.attempt,
                "test_mode": False,
                "flow": request.flow,
                "step": request.step,
                "idempotency_key": request.idempotency_key,
            },
            "input": request.input,
            "capabilities": sorted(kind.capabilities),
            "credentials": credentials,
            "config": config,
            "env": env,
        }
        return gateway, start

    async def _nested(self, parent: RunRequest, name: str, input: Any, connection: str | None) -> Any:
        if parent.depth + 1 >= MAX_NESTING:
            raise InvalidInput(f"trigger_action nested more than {MAX_NESTING} deep; is there a loop?")
        request = await self.request(name, connection=connection, input=input)
        run = await self.run(parent.nested(request.script, request.connection, input))
        if run.status != "succeeded":
            raise error_from_dict(run.error or {})
        return run.output

    async def _settle(
        self,
        record: RunRecord,
        outcome: RunOutcome,
        gateway: RunGateway | None,
        progress: Progress | None,
        redactor: Redactor,
        deferred: list[asyncio.Future[None]] | None = None,
    ) -> RunRecord:
        """Store the outcome, every field masked; a failure here still ends the run (``INTERNAL_ERROR``).

        ``deferred``: a run that did nothing outside itself (no HTTP, no writes) is stored without
        waiting; its future goes there (see :attr:`RunRequest.deferred`).
        """
        try:
            if progress is not None:
                record.progress = await progress.stop()
            if gateway is not None:
                await gateway.flush()
            record.status = outcome.status
            if outcome.ok:
                record.output = redactor.value(outcome.output)
            else:
                assert outcome.error is not None
                record.error = redactor.value(outcome.error.to_dict())
            record.finished_at = _now()
            if deferred is not None and gateway is not None and gateway.effects == 0:
                deferred.append(self.store.runs.complete_later(record, checked=outcome.ok))
                return record
            return await self.store.runs.complete(record, checked=outcome.ok)
        except Exception as exc:
            record.output, record.status = None, "failed"
            record.error = redactor.value(_internal_error(record, exc).to_dict())
            return await self.store.runs.complete(record)

    async def _cancelled(
        self,
        record: RunRecord,
        created: asyncio.Future[None] | None,
        gateway: RunGateway | None,
        progress: Progress | None,
        redactor: Redactor,
    ) -> None:
        """A caller that gave up (Ctrl-C, a closed request) leaves a run marked cancelled, not running."""
        if created is not None:
            await created
        if progress is not None:
            await progress.stop()
        if gateway is not None:
            await gateway.flush()
        error = Cancelled("the run was cancelled by its caller")
        await self.store.runs.finish(record.id, "cancelled", error=redactor.value(error.to_dict()), finished_at=_now())

    def _limits(self, time_limit: float, settings: RuntimeSection) -> dict[str, Any]:
        return {"memory_bytes": settings.memory_limit_mb * 1024 * 1024, "cpu_seconds": int(time_limit) + 2}

    # --- jobs (the engine's side) ----------------------------------------------------------

    async def run_job_attempt(self, script: str, *, connection: str | None, input: Any, job_id: str) -> RunRecord:
        """One attempt of a queued job (the engine calls this; it retries failed attempts).

        An attempt left ``running`` by a worker that died is marked failed (``WORKER_LOST``)
        first, so the run history shows every attempt; this one counts on from them.
        """
        lost = WorkerLost("the worker running this attempt stopped; the job retried it")
        await self.store.runs.interrupt(job_id, lost.to_dict())
        attempt = 1 + len(await self.store.runs.find(job_id=job_id, limit=10_000))
        request = await self.request(script, connection=connection, input=input)
        return await self.run(request.with_job(job_id, attempt))

    def retries(self, script: str) -> tuple[int, float]:
        """How often a failed job of ``script`` is retried, and the first wait (doubling)."""
        target = self.project.script(script)
        return kind_of(target).retries(target), target.retry_delay

    async def abandon_runs(self) -> int:
        """Fail (``WORKER_LOST``) the runs a crash left unfinished: those of this runner's owner
        name (a worker restarted under its ``--id``), and those of dead processes of this host.

        Call it before this process starts any run. Jobs among them are also retried by the
        engine, waiting actions queued as jobs; webhook runs and ``splice run`` runs just end as failed.
        """
        count = await self.abandon_owner(self.owner)
        host = socket.gethostname()
        for owner in await self.store.runs.unfinished_owners():
            name, _, pid = owner.rpartition(":")
            if name == host and pid.isdigit() and owner != local_owner() and not alive(int(pid)):
                count += await self.abandon_owner(owner)
        return count

    async def abandon_owner(self, owner: str) -> int:
        """Fail (``WORKER_LOST``) every unfinished run of ``owner``, a process known to be gone,
        and queue the jobs of the recoverable ones among them (waiting actions) to run again."""
        lost = WorkerLost(
            "the process running this run stopped before it finished (killed, crashed or silent)",
            hint="a job is retried by the engine; run anything else again",
        ).to_dict()
        recoverable = await self.store.runs.unqueued_jobs(owner) if self.requeue is not None else []
        count = await self.store.runs.abandon(owner, lost)
        for run in recoverable:
            assert self.requeue is not None
            await self.requeue(run)
        return count


def _now() -> datetime:
    return datetime.now(UTC)


def local_owner() -> str:
    """``host:pid``: the owner of runs started by a process that is not a named worker."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _internal_error(record: RunRecord, exc: Exception) -> InternalError:
    """A failure inside splice (not the script's): logged with its traceback, stored without it."""
    logger.error("run %s failed inside splice", record.id, exc_info=exc)
    return InternalError(
        f"splice failed while running this script: {type(exc).__name__}: {exc}",
        hint="this is a bug in splice; the worker's log has the traceback (search for the run id)",
    )
