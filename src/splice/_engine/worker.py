"""A worker process: the engine executing jobs, and (for ``splice serve``) the scheduler.

``splice serve`` = REST API + engine + scheduler + workers in one process; ``splice worker`` =
engine only, sharing the database. Each process has its own executor id (by default
``worker-<host>-<pid>``) and beats in the store (:mod:`splice._engine.liveness`): when one
dies, is killed or its machine goes away, a live worker recovers its jobs — at once on the
same host, after ``[runtime] worker_timeout`` elsewhere. SIGINT / SIGTERM stop it; runs it was
in the middle of are cancelled and its jobs go to the other workers (or to the next start).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path

from splice._engine import _dbos
from splice._engine.liveness import Liveness
from splice._engine.scheduler import Scheduler
from splice.config import find_root
from splice.deploy import DeployedVersions, open_deployed
from splice.errors import ProjectError, SpliceError
from splice.runtime import Runtime
from splice.server import ApiServer, create_app

logger = logging.getLogger("splice.worker")


def _listen(runtime: Runtime, host: str | None, port: int | None) -> ApiServer:
    """The REST API's server with its port bound; a port that cannot be had names the options."""
    settings = runtime.project.config.server
    host, port = host or settings.host, settings.port if port is None else port
    try:
        return ApiServer(create_app(runtime), host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise SpliceError(
                f"cannot listen on {host}:{port}: the port is already in use",
                code="CANNOT_LISTEN",
                hint="another process listens there (a `splice serve`?): pass --port N, or set [server] port "
                "in splice.toml (--port 0 picks a free port)",
            ) from None
        raise SpliceError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            code="CANNOT_LISTEN",
            hint="pass another --host or --port, or set [server] host and port in splice.toml",
        ) from None


def default_executor_id(role: str) -> str:
    """``serve-<host>-<pid>`` / ``worker-<host>-<pid>``: unique per process, so two workers on one
    host never share the jobs DBOS recovers by executor id (a restart's new id recovers the old
    one's jobs through the heartbeats instead)."""
    return f"{role}-{socket.gethostname()}-{os.getpid()}"


async def open_runtime(project: Path | str | None, database_url: str | None, isolation: str | None) -> Runtime:
    """The runtime a worker runs: the project folder's, or with none (none given, no ``splice.toml``
    here or above) and a database URL, the newest version deployed there: a machine needs no
    copy of the project."""
    if project is None and database_url and not _project_here():
        return await open_deployed(database_url, isolation=isolation)
    try:
        return await Runtime.open(project, isolation=isolation, database_url=database_url)
    except ProjectError as exc:
        if project is None and not _project_here():
            exc.hint = "run it in the project folder, pass --project DIR, or pass --database-url URL to run the "
            exc.hint += "version deployed there (splice deploy)"
        raise


def _project_here() -> bool:
    try:
        find_root()
    except ProjectError:
        return False
    return True


async def run_worker(
    project: Path | str | None,
    *,
    executor_id: str,
    schedule: bool,
    isolation: str | None = None,
    concurrency: int | None = None,
    tick: float = 1.0,
    api: tuple[str | None, int | None] | None = None,
    ready: Callable[[Runtime, str | None], None] | None = None,
    database_url: str | None = None,
) -> None:
    """Execute jobs until SIGINT or SIGTERM; schedule syncs when ``schedule``; serve the REST API
    when ``api`` is given as (host, port), either None for the project's ``[server]`` setting.
    ``database_url``: the database (default: the project's); with no project folder, the code
    is the version deployed there."""
    runtime = await open_runtime(project, database_url, isolation)
    runtime.runner.owner = executor_id
    #: the process's own settings (port, concurrency, timeout): from where it started, not from later deploys
    settings = runtime.project.config
    server: ApiServer | None = None
    try:
        # the port first: a second `splice serve` on the same port stops here, before it
        # touches the runs and jobs of the first
        server = _listen(runtime, *api) if api is not None else None
        # the newest deployed version from now on (until something is deployed: the files here)
        await runtime.versions.follow(DeployedVersions(runtime.store))
        abandoned = await runtime.runner.abandon_runs()
        if abandoned:
            logger.warning("%d runs left unfinished by a stopped process are now failed (WORKER_LOST)", abandoned)
        # the script runner starts now, not at the first run: its sandbox report is logged at
        # start, and a host that refuses what sandbox = "strict" requires stops the worker here
        await runtime.executor.start()
        runtime.versions.watch()  # a changed project is loaded again for the runs after it
    except BaseException:
        if server is not None:
            server.socket.close()
        await runtime.close()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scheduler: asyncio.Task[None] | None = None
    serving: asyncio.Task[None] | None = None
    liveness = Liveness(runtime.store, executor_id, timeout=settings.runtime.worker_timeout,
                        abandon=runtime.runner.abandon_owner, recover=_dbos.recover)  # fmt: skip
    beating: asyncio.Task[None] | None = None
    try:
        await liveness.beat()
        await _dbos.launch(
            runtime.job_runner,
            runtime.store.engine.url,
            executor_id,
            concurrency or settings.runtime.concurrency,
        )
        beating = asyncio.create_task(liveness.run(stop.set), name="splice-heartbeat")
        if schedule:
            scheduler = asyncio.create_task(Scheduler(runtime.store, runtime.syncs, runtime.flows, tick=tick).run())
        if server is not None:
            serving = asyncio.create_task(server.run_forever())
            while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn offers no event
                await asyncio.sleep(0.01)
            if serving.done():
                await serving  # raises why it could not start
        # What start-up built lives as long as the process: out of the collector's way, so its
        # full collections stay short (they were the slowest 1% of webhook answers)
        gc.freeze()
        if ready is not None:
            ready(runtime, server.url if server else None)
        await stop.wait()
        if not liveness.lost:
            logger.info("stopping %s: its unfinished jobs go to the other workers, or to the next start", executor_id)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if server is not None and serving is not None:
            server.stop()
            await asyncio.gather(serving, return_exceptions=True)
        if scheduler is not None:
            scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scheduler
        if beating is not None:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
        await _dbos.shutdown()
        if not liveness.lost:
            with contextlib.suppress(Exception):
                await liveness.stop()
        await runtime.close()
