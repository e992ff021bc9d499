"""DBOS, behind the three things splice needs from a durable-execution engine.

This is the only module that imports ``dbos`` (STACK.md: its API changed between majors, so
it is pinned and wrapped). What splice uses:

- a workflow per job (a sync run, or an action run in the background) whose one step runs
  an attempt through the :class:`~splice._engine.jobs.JobRunner` it was launched with; DBOS
  retries the step with exponential backoff per the sync's ``retries`` / ``retry_delay``, and
  each attempt is its own stored run;
- one queue, ``splice-jobs``, with a per-worker concurrency limit, and a deduplication id
  per sync × connection so a second trigger while one is queued or running is refused
  (DBOS refuses deduplication on partitioned queues, so this, not a partition, is what
  keeps one run of a sync per connection);
- recovery: a worker restarted with the same ``--id`` picks up the jobs it was running when
  it died, and the interrupted step runs again — the sync resumes from its checkpoint.

Anything may enqueue (the CLI, the scheduler, the REST server later) through
:class:`Jobs`, which talks to the system database only; only :func:`launch` executes jobs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from dbos import DBOS, DBOSClient, StepOptions
from dbos._error import DBOSNonExistentWorkflowError, DBOSQueueDeduplicatedError

from splice._engine.jobs import JobRunner
from splice.errors import Conflict, InternalError, NotFound, SpliceError, error_from_dict

if TYPE_CHECKING:
    from splice.store import RunRecord

APP = "splice"
QUEUE = "splice-jobs"
WORKFLOW = "splice.job"
#: bump when the job workflow changes shape: DBOS recovers only jobs of the same version
VERSION = "splice-jobs-1"
#: how often an idle worker looks for queued jobs, in seconds
POLL = 0.1

logging.getLogger("dbos").setLevel(logging.CRITICAL)
logger = logging.getLogger("splice.jobs")

#: what runs the attempts of this process's jobs (DBOS workflows are module-level functions)
_runner: JobRunner | None = None
#: attempts running in this process, cancelled on shutdown
_attempts: set[asyncio.Task[Any]] = set()


def system_database_url(store_url: str | sa.URL) -> str:
    """Where DBOS keeps its tables: beside the store, in a synchronous driver's URL.

    SQLite gets its own file next to the store's (``engine.db``), so the engine's queue
    polling never waits on a sync's long write transactions; PostgreSQL shares the store's
    database, in DBOS's own ``dbos`` schema.
    """
    url = sa.make_url(store_url)
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        folder = path.rsplit("/", 1)[0] if "/" in path else "."
        return f"sqlite:///{folder}/engine.db"
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


class AttemptFailed(Exception):
    """One attempt's run failed; DBOS sees this and decides whether to retry."""

    def __init__(self, run: RunRecord) -> None:
        super().__init__(f"run {run.id} {run.status}")
        self.run = run

    @property
    def final(self) -> bool:
        """A run that timed out or was cancelled is final; a failed one as its error's class says."""
        return self.run.status != "failed" or not error_from_dict(self.run.error or {}).retryable


@DBOS.workflow(name=WORKFLOW)
async def _job(script: str, connection: str | None, input: Any) -> dict[str, Any]:
    """One job: the script's attempts; a summary of the last one, never an exception."""
    job_id = DBOS.workflow_id or ""
    try:
        run = await DBOS.run_step_async(_retry_policy(script), _attempt, script, connection, input, job_id)
    except AttemptFailed as exc:
        return _summary(exc.run)
    except Exception as exc:  # DBOS wraps the last failure once retries are used up
        cause = exc.__cause__ if isinstance(exc.__cause__, AttemptFailed) else None
        if cause is None:
            error = (exc if isinstance(exc, SpliceError) else InternalError(f"{type(exc).__name__}: {exc}")).to_dict()
            return {"job_id": job_id, "status": "failed", "error": error}
        return _summary(cause.run)
    return _summary(run)


def _retry_policy(script: str) -> StepOptions:
    """The kind's retries (a sync's ``retries`` / ``retry_delay``, doubling); unknown scripts fail in the step."""
    try:
        retries, delay = _require_runner().retries(script)
    except SpliceError:
        return StepOptions(retries_allowed=False)
    return StepOptions(
        retries_allowed=retries > 0,
        max_attempts=retries + 1,
        interval_seconds=delay,
        backoff_rate=2.0,
        should_retry=lambda exc: isinstance(exc, AttemptFailed) and not exc.final,
    )


async def _attempt(script: str, connection: str | None, input: Any, job_id: str) -> RunRecord:
    runner = _require_runner()
    logger.info("job %s: %s for %s starting", job_id, script, connection or "-")
    task = asyncio.current_task()
    assert task is not None
    _attempts.add(task)
    try:
        run = await runner.run_job_attempt(script, connection=connection, input=input, job_id=job_id)
    finally:
        _attempts.discard(task)
    code = f" [{(run.error or {}).get('code')}]" if run.error else ""
    logger.info("job %s: run %s (attempt %d) %s%s", job_id, run.id, run.attempt, run.status, code)
    if run.status != "succeeded":
        raise AttemptFailed(run)
    return run


def _summary(run: RunRecord) -> dict[str, Any]:
    return {"job_id": run.job_id, "run_id": run.id, "status": run.status, "attempt": run.attempt, "error": run.error}


def _require_runner() -> JobRunner:
    if _runner is None:  # pragma: no cover - launch() sets it before any job can start
        raise SpliceError("no job runner: this process did not start the engine with launch()")
    return _runner


async def launch(runner: JobRunner, store_url: str | sa.URL, executor_id: str, concurrency: int) -> None:
    """Start executing jobs in this process (one per process: DBOS is a singleton).

    Jobs this ``executor_id`` was running when its process died are recovered now.
    """
    global _runner
    _runner = runner
    url = system_database_url(store_url)
    DBOS(config={
        "name": APP, "system_database_url": url, "executor_id": executor_id,
        "application_version": VERSION, "log_level": "CRITICAL", "sys_db_pool_size": pool_size(concurrency),
        "system_database_engine": sqlite_engine(url),
    })  # fmt: skip
    await asyncio.to_thread(DBOS.migrate, url)
    DBOS.launch()
    await DBOS.register_queue_async(QUEUE, worker_concurrency=concurrency, polling_interval_sec=POLL)


def sqlite_engine(url: str) -> sa.Engine | None:
    """The engine's SQLite file as the store's is kept: write-ahead log, ``synchronous=NORMAL``
    (a commit survives the process dying, not the machine losing power). DBOS's own engine
    keeps SQLite's rollback journal and syncs the disk at every commit (~8 ms a commit on this
    machine's disk, several per job). None for PostgreSQL: DBOS's engine is right.

    DBOS's own connection settings are kept: IMMEDIATE transactions, a long busy timeout,
    foreign keys."""
    if not url.startswith("sqlite"):
        return None
    engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = "IMMEDIATE"
        for pragma in ("busy_timeout=30000", "foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL"):
            dbapi_conn.execute(f"PRAGMA {pragma}")

    return engine


def pool_size(concurrency: int) -> int:
    """The engine's connections to its database in a worker: enough for its ``concurrency`` jobs
    to record their steps at once, not DBOS's default 20 per process, which four workers and
    the store's own pools take past PostgreSQL's default ``max_connections`` of 100."""
    return min(20, concurrency + 2)


async def recover(executor_id: str) -> int:
    """Queue again the jobs ``executor_id`` was running (it is gone for good); any worker runs them.

    DBOS re-enqueues each pending workflow of that executor, so its next attempt starts
    through the queue's atomic dequeue: recovering the same executor twice runs nothing twice.
    """
    handles = await asyncio.to_thread(DBOS._recover_pending_workflows, [executor_id])
    return len(handles)


async def shutdown() -> None:
    """Stop executing; jobs still running are recovered when this ``executor_id`` starts again.

    Attempts in flight are cancelled first (their runs are stored as ``cancelled``, their
    children killed) while the store and the event loop's thread pool still work: DBOS
    replaces the loop's default executor with its own and shuts it down on destroy, so a
    fresh one is put back for whatever closes after.
    """
    global _runner
    for task in list(_attempts):
        task.cancel()
    await asyncio.gather(*_attempts, return_exceptions=True)
    DBOS.destroy()
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(thread_name_prefix="splice"))
    _runner = None


class Jobs:
    """Enqueue jobs and read their state, from any process that can reach the database."""

    def __init__(self, store_url: str | sa.URL) -> None:
        self.url = system_database_url(store_url)
        self._client: DBOSClient | None = None
        self._connecting = asyncio.Lock()

    async def _connect(self) -> DBOSClient:
        async with self._connecting:  # one client however many callers come first at once
            if self._client is None:

                def connect() -> DBOSClient:
                    DBOS.migrate(self.url)
                    return DBOSClient(
                        system_database_url=self.url, system_database_engine=sqlite_engine(self.url),
                        application_name=APP, system_database_pool_size=4,
                    )  # fmt: skip

                self._client = await asyncio.to_thread(connect)
        return self._client

    async def enqueue(
        self, script: str, connection: str | None, input: Any, *, dedup: str | None, job_id: str | None = None
    ) -> str:
        """Queue a job; with ``dedup``, refuse (``SYNC_RUNNING``) while another with it is queued or running.
        ``job_id`` names it (queueing the same id twice queues it once)."""
        client = await self._connect()
        options: dict[str, Any] = {"workflow_name": WORKFLOW, "queue_name": QUEUE, "app_version": VERSION}
        if job_id is not None:
            options["workflow_id"] = job_id
        if dedup is not None:
            options["deduplication_id"] = dedup
        try:
            handle = await client.enqueue_async(options, script, connection, input)  # type: ignore[arg-type]
        except DBOSQueueDeduplicatedError:
            raise Conflict(
                f"{dedup} is already queued or running",
                code="SYNC_RUNNING",
                details={"sync": dedup},
                hint="wait for it to finish (splice syncs list shows its last run)",
            ) from None
        return str(handle.workflow_id)

    async def status(self, job_id: str) -> str:
        """DBOS's status of a job: ENQUEUED, PENDING, SUCCESS, ERROR, CANCELLED, …"""
        handle = await self._handle(job_id)
        return str((await handle.get_status()).status)

    async def wait(
        self, job_id: str, *, poll: float = 0.25, on_tick: Callable[[], Awaitable[None]] | None = None
    ) -> Any:
        """Wait for a job to end and return its summary; ``on_tick`` runs between polls."""
        handle = await self._handle(job_id)
        while (await handle.get_status()).status in ("ENQUEUED", "PENDING", "DELAYED"):
            if on_tick is not None:
                await on_tick()
            await asyncio.sleep(poll)
        return await handle.get_result()

    async def _handle(self, job_id: str) -> Any:
        client = await self._connect()
        try:
            return await client.retrieve_workflow_async(job_id)
        except DBOSNonExistentWorkflowError:
            raise NotFound(f"no job {job_id!r}") from None

    async def close(self) -> None:
        if self._client is not None:
            await asyncio.to_thread(self._client.destroy)
            self._client = None
