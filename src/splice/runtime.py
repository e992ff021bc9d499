"""The Python API: everything the CLI does, as an async object.

>>> async with await Runtime.open("my-project") as rt:
...     await rt.connections.add("acme", "c1", {"api_key": "..."})
...     run = await rt.run("acme.create_contact", connection="c1", input={"email": "a@b.test"})
...     print(run.status, run.output)

A :class:`Runtime` opens a project's store and wires the services that act on it:
``rt.connections``, ``rt.connect``, ``rt.env``, ``rt.records``, ``rt.runs``, ``rt.syncs``,
``rt.state``, ``rt.resource_state``, ``rt.lookups``, ``rt.tokens``; running scripts
goes through its :class:`~splice._runtime.runner.Runner` (``rt.run``, ``rt.run_trigger``,
``rt.enqueue``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from splice._clock import Clock, SystemClock
from splice._http.transport import AiohttpTransport, Transport
from splice._runtime.apis import ApiFactory
from splice._runtime.capabilities import EngineServices
from splice._runtime.executor import Executor
from splice._runtime.jobs import JobDispatch
from splice._runtime.kinds import kind_of
from splice._runtime.request import LogCallback, ProgressCallback, RunRequest, new_run_id
from splice._runtime.runner import Runner
from splice._runtime.versions import Versions
from splice._runtime.webhooks import admit, secret_headers
from splice.errors import InvalidInput, NotFound, SpliceError
from splice.flows import _chain
from splice.integration import Script
from splice.project import Project, load_project
from splice.services import Connections, EnvVars, Flows, Lookups, Records, ResourceState, Runs, Syncs
from splice.services.connect import ConnectFlow
from splice.services.resources import Resources
from splice.services.transfers import ASYNC_HELPERS, FILE_DEFINITIONS, Exports, Imports
from splice.store import RunRecord, SecretBox, Store, open_store
from splice.triggers import Response, WebhookRequest, WebhookResponse

if TYPE_CHECKING:
    from splice._engine.jobs import JobQueue


#: how :meth:`Runtime.open` imports the project: ``strict`` fails on a module that does not
#: import; ``lenient`` keeps what imports and records the failures (for reading what is stored)
LoadMode = Literal["strict", "lenient"]


class Runtime:
    """A loaded project, its store, its script runner and the services over them."""

    def __init__(
        self,
        project: Project,
        store: Store,
        secrets: SecretBox,
        isolation: str,
        *,
        transport: Transport | None = None,
        clock: Clock | None = None,
        deployed: int | None = None,
    ) -> None:
        """``deployed``: the deployed version (``splice deploy``) ``project`` was unpacked from, if it was."""
        self.store = store
        self.secrets = secrets
        self.isolation = isolation
        self.clock = clock or SystemClock()
        self.transport = transport or AiohttpTransport.create()
        #: the project's current version, and older ones still finishing runs
        self.versions = Versions(project, isolation, on_load=self._on_load, deployed=deployed)
        self._on_load(project)
        self.apis = ApiFactory(store, self.transport, self.clock)
        #: state by resource type and id (``integrations``, ``connections``, ``flows``…)
        self.resource_state = ResourceState(lambda: self.versions.project, store)
        #: lookup caches: find, get, create, update, patch, delete; get, put, delete and purge entries
        self.lookups = Lookups(self.versions, store)
        self.runner = Runner(self.versions, store, self.apis, EngineServices(self.resource_state, self.lookups))
        self._jobs: JobQueue | None = None
        self.connections = Connections(self.versions, store, self.apis)
        #: the OAuth connect flow behind ``/connect`` (a customer's browser grants access)
        self.connect = ConnectFlow(self.versions, store, self.connections, self.apis, secrets, self.clock)
        self.env = EnvVars(store)
        #: access tokens of the REST API, and state by scope: the stores are the API here
        self.tokens = store.tokens
        self.state = store.state
        self.records = Records(self.versions, store)
        self.runs = Runs(store)
        #: list, trigger, pause, resume, reschedule and reset syncs
        self.syncs = Syncs(self.versions, store, lambda: self.jobs)
        #: list, create, run and retry flows
        self.flows = Flows(self.versions, store, self.runner, lambda: self.jobs, secrets)
        #: Celigo's exports and imports: find, get, create, update, patch, delete, and run
        self.exports = Exports(self.versions, store, self.runner)
        self.imports = Imports(self.versions, store, self.runner)
        #: Celigo's async helpers: how APIs that answer "job accepted" are polled (exports use them)
        self.async_helpers = Resources(ASYNC_HELPERS, self.versions, store)
        #: file definitions (delimited, fixed-width, X12): exports parse downloads, imports generate uploads
        self.file_definitions = Resources(FILE_DEFINITIONS, self.versions, store)
        self.runner.engine.resources.update(exports=self.exports, imports=self.imports, lookup_caches=self.lookups,
                                            async_helpers=self.async_helpers,
                                            file_definitions=self.file_definitions)  # fmt: skip  # type: ignore[union-attr]
        #: what a worker hands the engine: job attempts of scripts, and flow runs
        self.job_runner = JobDispatch(self.runner, self.flows)
        self.runner.requeue = self._requeue

    def _on_load(self, project: Project) -> None:
        self.store.state.max_value_bytes = project.config.runtime.max_state_kb * 1024
        self.store.lookups.max_cache_bytes = project.config.runtime.max_lookup_cache_mb * 1024 * 1024

    @property
    def project(self) -> Project:
        """The project's current version (``splice serve`` loads it again when its files change)."""
        return self.versions.project

    @property
    def executor(self) -> Executor:
        """Where the current version's scripts run (its zygote in process mode)."""
        return self.versions.current.executor

    @classmethod
    async def open(
        cls,
        project: Project | str | Path | None = None,
        *,
        isolation: str | None = None,
        database_url: str | None = None,
        transport: Transport | None = None,
        clock: Clock | None = None,
        load: LoadMode = "strict",
    ) -> Runtime:
        """Load the project (nearest ``splice.toml`` by default) and open its store.

        ``transport`` (default: aiohttp) carries every HTTP call of every run and is closed with
        the runtime; ``clock`` (default: the system's) judges token and OAuth-state expiry. Both
        are seams for tests: a replay transport, a clock the test moves.

        ``load="lenient"`` opens the store even when a module of the project does not import:
        what imported is there, ``rt.project.load_errors`` says what did not, and running a
        script fails with that error. For tools that read what is stored (logs, runs,
        connections) while someone fixes the code.
        """
        if not isinstance(project, Project):
            project = load_project(project, lenient=load == "lenient")
        mode = isolation or project.config.runtime.isolation
        if mode not in ("process", "none"):
            raise InvalidInput(f"isolation must be 'process' or 'none', not {mode!r}")
        project.state_dir.mkdir(parents=True, exist_ok=True)
        secrets = SecretBox.from_environment(project.state_dir / "secret.key")
        store = await open_store(database_url or project.database_url, secrets, clock=clock)
        return cls(project, store, secrets, mode, transport=transport, clock=clock)

    async def __aenter__(self) -> Runtime:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def jobs(self) -> JobQueue:
        """The job queue; imported on first use, so commands that queue nothing skip loading the engine."""
        if self._jobs is None:
            from splice._engine._dbos import Jobs

            self._jobs = Jobs(self.store.engine.url)
        return self._jobs

    async def close(self) -> None:
        if self._jobs is not None:
            await self._jobs.close()
        await self.versions.close()
        await self.transport.close()
        await self.store.close()

    # --- running scripts ---------------------------------------------------------------------

    async def run(
        self,
        script: str,
        *,
        connection: str | None = None,
        input: Any = None,
        on_log: LogCallback | None = None,
        on_progress: ProgressCallback | None = None,
        background: bool = False,
        time_limit: float | None = None,
        run_id: str | None = None,
        recoverable: bool = False,
    ) -> RunRecord:
        """Run an action or a sync now and wait for it; the stored run (status, output or error) comes back.

        Bad requests (unknown script or connection, invalid input) raise before any run is
        stored; everything that goes wrong once the run started is recorded on the run. A
        sync already running for the connection raises :class:`Conflict` (``SYNC_RUNNING``);
        a sync's progress (requests, records, rate) is stored on the run every second and
        passed to ``on_progress``. ``run_id`` (from :func:`new_run_id`) lets a caller that may
        stop waiting tell its own caller which run to poll.

        ``recoverable``: the run is the first attempt of a job of its own id, as a waiting ``POST
        /actions`` is. Should this process die before it ends, the worker that finds it gone
        marks it ``WORKER_LOST`` and queues the job, which runs the script again with the same
        ``ctx.run.idempotency_key``; a waiting caller costs nothing more until then.
        """
        run_id = run_id or new_run_id()
        request = await self.runner.request(
            script, connection=connection, input=input, on_log=on_log, on_progress=on_progress,
            background=background, time_limit=time_limit, run_id=run_id, job_id=run_id if recoverable else None,
        )  # fmt: skip
        return await self.runner.run(request)

    async def run_trigger(
        self,
        integration: str,
        trigger: str,
        request: WebhookRequest,
        *,
        on_log: LogCallback | None = None,
        flows: bool = True,
    ) -> tuple[RunRecord, WebhookResponse]:
        """Answer a webhook: run the trigger with ``request``; its stored run and the HTTP answer come back.

        Refusals raise before any run is stored: an unknown trigger (:class:`NotFound`), a body
        over ``[runtime] max_webhook_body_kb`` (``PAYLOAD_TOO_LARGE``), a bad or missing
        signature (:class:`Unauthorized`, ``INVALID_SIGNATURE``), its secret not set
        (``WEBHOOK_SECRET_MISSING``), a connection id absent or unknown. Once the run has
        started, its failures are answers, not exceptions: 500 (504 after a time-out) with
        the run id and never a traceback. The run's input is the request with secret headers
        masked; its output is the response sent. ``flows=False`` starts none of the flows bound
        to the trigger (a test of the trigger alone).
        """
        target = (await self.versions.refresh()).project.integration(integration).script(trigger)
        if target.kind != "trigger":
            raise NotFound(f"{target.qualname} is not a trigger (it is a {target.kind}); webhooks run triggers only")
        conn = await admit(target, request, self.store, self.webhook_body_limit)
        hidden = secret_headers(target)
        record = await self.runner.run(
            RunRequest(
                script=target, connection=conn, input=request.to_json(), shown_input=request.redacted(hidden),
                secrets=tuple(request.secret_values(hidden)), on_log=on_log,
            )
        )  # fmt: skip
        if record.status != "succeeded":
            return record, WebhookResponse.for_error(record.error or {}, record.id)
        answer = WebhookResponse.from_json(record.output or {})
        if not flows:
            return record, answer
        flow_answer = await self._start_flows(target, conn.id if conn else None, request, record)
        return record, flow_answer or answer

    async def _start_flows(
        self, trigger: Script, connection: str | None, request: WebhookRequest, record: RunRecord
    ) -> WebhookResponse | None:
        """Queue every flow bound to ``trigger`` with its payload; for a ``respond="flow"`` one,
        wait (at most ``[runtime] flow_respond_timeout``) and answer with that flow's result.

        The payload is what the trigger returned as ``payload`` (Prismatic's shape), else the
        request's JSON body.
        """
        bound = await self.flows.bound(trigger.integration.name, trigger.name)
        if not bound:
            return None
        chain = _chain.opened(self.secrets, request.headers)
        for flow in bound:
            _chain.refuse_cycle(flow.id, chain)
        output = record.output or {}
        payload = output["payload"] if "payload" in output else _json_or_none(request)
        waited: RunRecord | None = None
        for flow in bound:
            run = await self.flows.run(flow.id, connection=connection, payload=payload, background=True, chain=chain)
            if flow.trigger.respond == "flow" and waited is None:
                waited = run
        if waited is None:
            return None
        done = await self.flows.wait(waited.id, timeout=self.project.config.runtime.flow_respond_timeout)
        if done.status == "succeeded":
            return Response(done.output).render()
        if done.status in ("queued", "running"):
            return Response({"run_id": done.id, "status": done.status}, status=202).render()
        return WebhookResponse.for_error(done.error or {}, done.id)

    @property
    def webhook_body_limit(self) -> int:
        """The largest webhook body in bytes; a server may refuse bigger ones before reading them."""
        return self.project.config.runtime.max_webhook_body_kb * 1024

    # --- jobs ----------------------------------------------------------------------------------

    async def _requeue(self, run: RunRecord) -> None:
        """Queue the job a lost recoverable run was the first attempt of (see :meth:`run`)."""
        await self.jobs.enqueue(f"{run.integration}.{run.script}", run.connection_id, run.input, dedup=None,
                                job_id=run.job_id)  # fmt: skip

    async def enqueue(self, script: str, *, connection: str | None = None, input: Any = None) -> str:
        """Queue a run of an action (or a sync) to run in the background on a worker; returns the job id."""
        project = (await self.versions.refresh()).project
        project.check_complete()
        target = project.script(script)
        kind = kind_of(target)
        if not kind.queueable:
            raise InvalidInput(f"{target.qualname} is a {kind.name}; only actions and syncs run as jobs")
        request = await self.runner.request(target, connection=connection, input=input)
        conn_id = request.connection.id if request.connection else None
        return await self.jobs.enqueue(target.qualname, conn_id, input, dedup=kind.job_dedup(target, conn_id))

    async def wait_job(
        self, job_id: str, *, on_progress: Callable[[dict[str, Any]], None] | None = None
    ) -> dict[str, Any]:
        """Wait until a queued job ends; its last attempt's summary (run id, status, error) comes back.

        ``on_progress`` gets the latest run's progress while it goes on.
        """
        seen: dict[str, Any] = {}

        async def tick() -> None:
            if on_progress is None:
                return
            runs = await self.store.runs.find(job_id=job_id, limit=1)
            if runs and runs[0].progress and runs[0].progress != seen.get(runs[0].id):
                seen[runs[0].id] = runs[0].progress
                on_progress({**runs[0].progress, "run_id": runs[0].id, "attempt": runs[0].attempt})

        summary = await self.jobs.wait(job_id, on_tick=tick)
        return dict(summary or {})


def _json_or_none(request: WebhookRequest) -> Any:
    try:
        return request.json()
    except SpliceError:
        return None


__all__ = ["Runtime", "new_run_id"]
