"""The Python API: everything the CLI does, as an async object.

>>> async with await Runtime.open("my-project") as rt:
...     await rt.add_connection("acme", "c1", {"api_key": "..."})
...     run = await rt.run("acme.create_contact", connection="c1", input={"email": "a@b.test"})
...     print(run.status, run.output)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from splice._engine.control import Syncs, sync_lock
from splice._http.client import CallSpec, Transport
from splice._http.redact import Redactor
from splice._http.retry import RetryPolicy
from splice._runtime.apis import ApiFactory
from splice._runtime.child import parse_input
from splice._runtime.executor import Executor
from splice._runtime.gateway import RunGateway
from splice._runtime.progress import Progress
from splice._runtime.records import RecordWriter
from splice._runtime.webhooks import admit, secret_headers
from splice.errors import Conflict, InvalidInput, NotFound, SpliceError, error_from_dict
from splice.integration import Script
from splice.project import Project, load_project
from splice.store import Connection, LogLine, LogRecord, RecordPage, RunRecord, SecretBox, Store, Stream, open_store
from splice.triggers import WebhookRequest, WebhookResponse

if TYPE_CHECKING:
    from splice._engine._dbos import Jobs

LogCallback = Callable[[LogLine], None]
ProgressCallback = Callable[[dict[str, Any]], None]
#: how deep ``ctx.trigger_action`` may nest before it is refused (a loop, most likely)
MAX_NESTING = 8


def new_run_id() -> str:
    """Sortable, unique run ids: milliseconds since the epoch, then randomness."""
    return f"run_{int(time.time() * 1000):013x}{uuid.uuid4().hex[:12]}"


class Runtime:
    """A loaded project, its store and its script runner."""

    def __init__(self, project: Project, store: Store, secrets: SecretBox, isolation: str) -> None:
        self.project = project
        self.store = store
        store.state.max_value_bytes = project.config.runtime.max_state_kb * 1024
        self.secrets = secrets
        self.isolation = isolation
        self.transport = Transport.create()
        self.apis = ApiFactory(project, store, self.transport)
        self.executor = Executor(project, isolation)
        self._jobs: Jobs | None = None
        #: list, trigger, pause, resume, reschedule and reset syncs
        self.syncs = Syncs(self)

    @classmethod
    async def open(
        cls,
        project: Project | str | Path | None = None,
        *,
        isolation: str | None = None,
        database_url: str | None = None,
    ) -> Runtime:
        """Load the project (nearest ``splice.toml`` by default) and open its store."""
        if not isinstance(project, Project):
            project = load_project(project)
        mode = isolation or project.config.runtime.isolation
        if mode not in ("process", "none"):
            raise InvalidInput(f"isolation must be 'process' or 'none', not {mode!r}")
        project.state_dir.mkdir(parents=True, exist_ok=True)
        secrets = SecretBox.from_environment(project.state_dir / "secret.key")
        store = await open_store(database_url or project.database_url, secrets)
        return cls(project, store, secrets, mode)

    async def __aenter__(self) -> Runtime:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def jobs(self) -> Jobs:
        """The job queue; imported on first use, so commands that queue nothing skip loading the engine."""
        if self._jobs is None:
            from splice._engine._dbos import Jobs

            self._jobs = Jobs(self.store.engine.url)
        return self._jobs

    async def close(self) -> None:
        if self._jobs is not None:
            await self._jobs.close()
        await self.executor.close()
        await self.transport.close()
        await self.store.close()

    # --- connections -------------------------------------------------------------------

    async def add_connection(
        self,
        integration: str,
        connection_id: str,
        credentials: Mapping[str, Any],
        *,
        config: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Connection:
        """Store a new connection after checking its credentials and config against the integration."""
        spec = self.project.integration(integration)
        clean = spec.auth.validate(credentials)
        spec.resolve_config(config)
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidInput("metadata must be a JSON object")
        return await self.store.connections.create(
            integration, connection_id, clean, config=dict(config or {}), metadata=dict(metadata or {})
        )

    async def update_connection(
        self,
        integration: str,
        connection_id: str,
        *,
        credentials: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Connection:
        """Replace a connection's credentials, config and/or metadata, each checked like on create.

        Everything is validated before anything is written, so a bad field changes nothing.
        New credentials also clear an ``error`` status (the user fixed the connection).
        """
        spec = self.project.integration(integration)
        await self.store.connections.get(integration, connection_id)
        clean = spec.auth.validate(credentials) if credentials is not None else None
        if config is not None:
            spec.resolve_config(config)
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidInput("metadata must be a JSON object")
        if clean is not None:
            await self.store.connections.update_credentials(integration, connection_id, clean)
        if config is not None:
            await self.store.connections.set_config(integration, connection_id, dict(config))
        if metadata is not None:
            await self.store.connections.set_metadata(integration, connection_id, dict(metadata))
        return await self.store.connections.get(integration, connection_id)

    async def list_connections(self, integration: str | None = None) -> list[Connection]:
        if integration is not None:
            self.project.integration(integration)
        return await self.store.connections.find(integration)

    async def get_connection(self, integration: str, connection_id: str) -> Connection:
        return await self.store.connections.get(integration, connection_id)

    async def delete_connection(self, integration: str, connection_id: str) -> None:
        """Delete a connection with everything stored for it: state, synced records, checkpoints."""
        await self.store.connections.delete(integration, connection_id)
        await self.store.records.reset(integration, connection_id)
        await self.store.checkpoints.clear(integration, connection_id)
        await self.store.schedules.delete(integration, connection_id)

    async def test_connection(self, integration: str, connection_id: str) -> dict[str, Any]:
        """Refresh if needed and call the integration's ``test_path``; says what was checked."""
        spec = self.project.integration(integration)
        conn = await self.store.connections.get(integration, connection_id)
        api = await self.apis.connection_api(spec, conn, Redactor(), None, RetryPolicy(rate_limit_budget=5))
        test = getattr(spec.auth, "test", None)
        if callable(test):
            ok = await test(api.credentials, self.apis.send_token_request)
            return {"ok": ok is not False, "checked": "the integration's custom test"}
        if spec.test_path:
            response = await api.call(CallSpec("GET", spec.test_path))
            return {"ok": True, "checked": f"GET {spec.test_path} → {response.status}"}
        checked = "credentials refreshed" if spec.auth.refreshable else "credential fields present"
        return {"ok": True, "checked": checked + " (declare test_path= on the integration to call the API)"}

    # --- operator environment variables ------------------------------------------------

    async def set_env(self, name: str, value: str) -> None:
        await self.store.env.set(name, value)

    async def unset_env(self, name: str) -> None:
        await self.store.env.unset(name)

    async def env_names(self) -> list[str]:
        return await self.store.env.names()

    # --- runs ----------------------------------------------------------------------------

    async def run(
        self,
        script: str,
        *,
        connection: str | None = None,
        input: Any = None,
        on_log: LogCallback | None = None,
        background: bool = False,
        time_limit: float | None = None,
        parent_id: str | None = None,
        on_progress: ProgressCallback | None = None,
        job_id: str | None = None,
        attempt: int = 1,
        run_id: str | None = None,
        _depth: int = 0,
    ) -> RunRecord:
        """Run an action or a sync now and wait for it; the stored run (status, output or error) comes back.

        Bad requests (unknown script or connection, invalid input) raise before any run is
        stored; everything that goes wrong once the run started is recorded on the run. A
        sync already running for the connection raises :class:`Conflict` (``SYNC_RUNNING``);
        a sync's progress (requests, records, rate) is stored on the run every second and
        passed to ``on_progress``. ``run_id`` (from :func:`new_run_id`) lets a caller that may
        stop waiting tell its own caller which run to poll.
        """
        target = self.project.script(script)
        if target.kind == "trigger":
            raise InvalidInput(
                f"{target.qualname} is a trigger; it runs when its webhook is called",
                hint=f"POST to /webhooks/{target.integration.name}/{target.name}, or call Runtime.run_trigger",
            )
        if target.kind == "sync":
            if input is not None:
                raise InvalidInput(f"{target.qualname} is a sync; syncs take no input")
            background = True
        conn = await self._run_connection(target, connection)
        parse_input(target, input, self.project.config.runtime.max_input_kb)
        run_id = run_id or new_run_id()
        if target.kind != "sync":
            return await self._run(target, conn, run_id, input, on_log, background, time_limit, parent_id, _depth)
        async with self.store.locks.lease(sync_lock(target, conn), job_id or run_id) as ours:
            if not ours:
                raise Conflict(
                    f"{target.qualname} is already running for connection {conn.id if conn else '-'}",
                    code="SYNC_RUNNING",
                    hint="wait for that run to finish; a sync runs at most once per connection at a time",
                )
            return await self._run(
                target, conn, run_id, input, on_log, True, time_limit, parent_id, _depth,
                on_progress=on_progress, job_id=job_id, attempt=attempt,
            )  # fmt: skip

    async def _run(
        self,
        target: Script,
        conn: Connection | None,
        run_id: str,
        input: Any,
        on_log: LogCallback | None,
        background: bool,
        time_limit: float | None,
        parent_id: str | None,
        depth: int,
        *,
        on_progress: ProgressCallback | None = None,
        job_id: str | None = None,
        attempt: int = 1,
        script_input: Any = None,
        secrets: Iterable[str] = (),
    ) -> RunRecord:
        """``script_input``: what the script gets when it differs from the stored ``input`` (a
        webhook's unmasked request); ``secrets``: values masked wherever the run is stored."""
        record = RunRecord(
            id=run_id,
            kind=target.kind,
            integration=target.integration.name,
            script=target.name,
            connection_id=conn.id if conn else None,
            status="running",
            input=input,
            output=None,
            error=None,
            attempt=attempt,
            parent_id=parent_id,
            test_mode=False,
            created_at=_now(),
            started_at=_now(),
            finished_at=None,
            duration_ms=None,
            job_id=job_id,
        )
        await self.store.runs.create(record)
        redactor = Redactor(secrets)
        gateway: RunGateway | None = None
        progress: Progress | None = None
        try:
            gateway, start = await self._prepare(target, conn, record, redactor, on_log, background, depth)
            if script_input is not None:
                start["input"] = script_input
            limit = time_limit or target.time_limit or self._default_time_limit(target)
            if gateway.records is not None:
                progress = Progress(self.store, record.id, gateway, on_progress)
            done = await self.executor.execute(target, gateway, start, limit, self._limits(limit))
            if gateway.records is not None:
                if done.get("ok"):
                    done = {"ok": True, "output": await self._sync_result(gateway, done.get("output"))}
                else:
                    await gateway.records.flush()
        except SpliceError as exc:
            done = {"ok": False, "error": exc.to_dict()}
        except asyncio.CancelledError:
            if progress is not None:
                await asyncio.shield(progress.stop())
            await asyncio.shield(self._cancelled(record, gateway))
            raise
        if progress is not None:
            record.progress = await progress.stop()
        if gateway is not None:
            await gateway.flush()
        return await self._finish(record, done, redactor)

    async def run_trigger(
        self, integration: str, trigger: str, request: WebhookRequest, *, on_log: LogCallback | None = None
    ) -> tuple[RunRecord, WebhookResponse]:
        """Answer a webhook: run the trigger with ``request``; its stored run and the HTTP answer come back.

        Refusals raise before any run is stored: an unknown trigger (:class:`NotFound`), a body
        over ``[runtime] max_webhook_body_kb`` (``PAYLOAD_TOO_LARGE``), a bad or missing
        signature (:class:`Unauthorized`, ``INVALID_SIGNATURE``), its secret not set
        (``WEBHOOK_SECRET_MISSING``), a connection id absent or unknown. Once the run has
        started, its failures are answers, not exceptions: 500 (504 after a time-out) with
        the run id and never a traceback. The run's input is the request with secret headers
        masked; its output is the response sent.
        """
        target = self.project.integration(integration).script(trigger)
        if target.kind != "trigger":
            raise NotFound(f"{target.qualname} is not a trigger (it is a {target.kind}); webhooks run triggers only")
        conn = await admit(target, request, self.store, self.webhook_body_limit)
        hidden = secret_headers(target)
        record = await self._run(
            target, conn, new_run_id(), request.redacted(hidden), on_log, False, None, None, 0,
            script_input=request.to_json(), secrets=request.secret_values(hidden),
        )  # fmt: skip
        if record.status == "succeeded":
            return record, WebhookResponse.from_json(record.output or {})
        return record, WebhookResponse.for_error(record.error or {}, record.id)

    @property
    def webhook_body_limit(self) -> int:
        """The largest webhook body in bytes; a server may refuse bigger ones before reading them."""
        return self.project.config.runtime.max_webhook_body_kb * 1024

    async def run_job_attempt(self, script: str, *, connection: str | None, input: Any, job_id: str) -> RunRecord:
        """One attempt of a queued job (the engine calls this; it retries failed attempts).

        An attempt left ``running`` by a worker that died is marked failed (``WORKER_LOST``)
        first, so the run history shows every attempt; this one counts on from them.
        """
        lost = {"code": "WORKER_LOST", "message": "the worker running this attempt stopped; the job retried it",
                "details": {}}  # fmt: skip
        await self.store.runs.interrupt(job_id, lost)
        attempt = 1 + len(await self.store.runs.find(job_id=job_id, limit=10_000))
        return await self.run(script, connection=connection, input=input, background=True, job_id=job_id,
                              attempt=attempt)  # fmt: skip

    def _default_time_limit(self, script: Script) -> float:
        settings = self.project.config.runtime
        return settings.sync_time_limit if script.kind == "sync" else settings.time_limit

    async def _sync_result(self, gateway: RunGateway, returned: Any) -> dict[str, Any]:
        """After a successful sync: write what is buffered, soft-delete unseen records (track_deletes).

        Only a run that finished successfully reaches here, so a failed or interrupted run
        never deletes anything.
        """
        assert gateway.records is not None
        await gateway.records.flush()
        if gateway.script.track_deletes:
            await gateway.records.delete_unseen()
        result: dict[str, Any] = {"records": gateway.records.counts}
        if returned is not None:
            result["result"] = returned
        return result

    async def _cancelled(self, record: RunRecord, gateway: RunGateway | None) -> None:
        """A caller that gave up (Ctrl-C, a closed request) leaves a run marked cancelled, not running."""
        if gateway is not None:
            await gateway.flush()
        error = {"code": "CANCELLED", "message": "the run was cancelled by its caller", "details": {}}
        await self.store.runs.finish(record.id, "cancelled", error=error, finished_at=_now())

    async def _finish(self, record: RunRecord, done: dict[str, Any], redactor: Redactor) -> RunRecord:
        if done.get("ok"):
            record.status, record.output = "succeeded", redactor.value(done.get("output"))
        else:
            record.error = redactor.value(done.get("error") or {})
            record.status = "timed_out" if record.error.get("code") == "TIME_LIMIT_EXCEEDED" else "failed"
        record.finished_at = _now()
        return await self.store.runs.complete(record)

    async def _run_connection(self, script: Script, connection: str | None) -> Connection | None:
        needs = bool(script.integration.auth.fields)
        if connection is None:
            if needs:
                raise InvalidInput(
                    f"{script.qualname} needs a connection",
                    hint=f"pass --connection ID (see `splice connections list {script.integration.name}`)",
                )
            return None
        return await self.store.connections.get(script.integration.name, connection)

    async def _prepare(
        self,
        script: Script,
        conn: Connection | None,
        record: RunRecord,
        redactor: Redactor,
        on_log: LogCallback | None,
        background: bool,
        depth: int,
    ) -> tuple[RunGateway, dict[str, Any]]:
        settings = self.project.config.runtime
        budget = settings.rate_limit_budget_background if background else settings.rate_limit_budget_interactive
        policy = RetryPolicy(rate_limit_budget=budget, error_attempts=settings.max_attempts)
        env = await self.store.env.all()
        redactor.add(env.values())
        if conn is not None:
            redactor.add_credentials(conn.credentials)
        gateway = RunGateway(
            run_id=record.id,
            script=script,
            store=self.store,
            connection=conn,
            api=None,
            internal_api=None,
            redactor=redactor,
            on_log=on_log,
            nested=lambda name, input, connection: self._nested(
                record, name, input, connection, on_log, background, depth
            ),
        )
        if script.kind == "sync":
            gateway.records = RecordWriter(
                self.store,
                script,
                conn.id if conn else "",
                record.id,
                lambda level, msg, fields: gateway.log(level, msg, fields),
            )
        config: dict[str, Any] = {}
        credentials: dict[str, Any] = {}
        if conn is not None:
            config = script.integration.resolve_config(conn.config)
            gateway.api = await self.apis.connection_api(
                script.integration, conn, redactor, gateway.log_request, policy
            )
            credentials = gateway.api.credentials
        gateway.internal_api = self.apis.internal_api(env, redactor, gateway.log_request, policy)
        start = {
            "t": "start",
            "run": {
                "id": record.id,
                "integration": script.integration.name,
                "script": script.name,
                "connection_id": record.connection_id,
                "started_at": record.started_at.isoformat(),
                "attempt": record.attempt,
                "test_mode": record.test_mode,
            },
            "input": record.input,
            "credentials": credentials,
            "config": config,
            "env": env,
        }
        return gateway, start

    async def _nested(
        self,
        parent: RunRecord,
        name: str,
        input: Any,
        connection: str | None,
        on_log: LogCallback | None,
        background: bool,
        depth: int,
    ) -> Any:
        if depth + 1 >= MAX_NESTING:
            raise InvalidInput(f"trigger_action nested more than {MAX_NESTING} deep; is there a loop?")
        run = await self.run(
            name,
            connection=connection,
            input=input,
            on_log=on_log,
            background=background,
            parent_id=parent.id,
            _depth=depth + 1,
        )
        if run.status != "succeeded":
            raise error_from_dict(run.error or {})
        return run.output

    def _limits(self, time_limit: float) -> dict[str, Any]:
        settings = self.project.config.runtime
        return {"memory_bytes": settings.memory_limit_mb * 1024 * 1024, "cpu_seconds": int(time_limit) + 2}

    # --- jobs ---------------------------------------------------------------------------

    async def enqueue(self, script: str, *, connection: str | None = None, input: Any = None) -> str:
        """Queue a run of an action (or a sync) to run in the background on a worker; returns the job id."""
        target = self.project.script(script)
        if target.kind == "sync":
            if input is not None:
                raise InvalidInput(f"{target.qualname} is a sync; syncs take no input")
            return await self.syncs.trigger(target.qualname, connection or "")
        if target.kind != "action":
            raise InvalidInput(f"{target.qualname} is a {target.kind}; only actions and syncs run as jobs")
        conn = await self._run_connection(target, connection)
        parse_input(target, input, self.project.config.runtime.max_input_kb)
        return await self.jobs.enqueue(target.qualname, conn.id if conn else None, input, dedup=None)

    async def wait_job(self, job_id: str, *, on_progress: ProgressCallback | None = None) -> dict[str, Any]:
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

    # --- reading -----------------------------------------------------------------------

    async def read_records(
        self,
        integration: str,
        model: str,
        *,
        connection: str,
        cursor: str | None = None,
        modified_after: datetime | None = None,
        filter: set[str] | None = None,
        ids: list[str] | None = None,
        limit: int = 100,
    ) -> RecordPage:
        """One page of a connection's synced records, oldest change first (keyset on the cursor)."""
        spec = self.project.integration(integration)
        models = {m.__name__ for s in spec.scripts.values() for m in s.models}
        if model not in models:
            known = ", ".join(sorted(models)) or "none"
            raise NotFound(f"integration {integration!r} syncs no model {model!r} (it syncs: {known})")
        await self.store.connections.get(integration, connection)
        stream = Stream(integration, connection, model)
        return await self.store.records.read(
            stream, cursor=cursor, modified_after=modified_after, filter=filter, ids=ids, limit=limit
        )

    async def get_run(self, run_id: str) -> RunRecord:
        return await self.store.runs.get(run_id)

    async def find_runs(self, **filters: Any) -> list[RunRecord]:
        return await self.store.runs.find(**filters)

    async def search_logs(self, **filters: Any) -> list[LogRecord]:
        return await self.store.runs.search_logs(**filters)


def _now() -> datetime:
    return datetime.now(UTC)


__all__ = ["Runtime", "new_run_id"]
