"""A worker process: the engine executing jobs, and (for ``splice serve``) the scheduler.

``splice serve`` = REST API + engine + scheduler + workers in one process; ``splice worker`` =
engine only, sharing the database. Give every worker a stable
``executor_id``: a worker restarted under the same id resumes the jobs it was running when
it stopped (DBOS recovers per executor). SIGINT / SIGTERM stop it; runs it was in the middle
of are cancelled and picked up again by the next start with the same id.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
from collections.abc import Callable
from pathlib import Path

from splice._engine import _dbos
from splice._engine.scheduler import Scheduler
from splice.runtime import Runtime
from splice.server import ApiServer, create_app

logger = logging.getLogger("splice.worker")


def default_executor_id(role: str) -> str:
    """``serve-<host>`` / ``worker-<host>``: stable across restarts of the same machine."""
    return f"{role}-{socket.gethostname()}"


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
) -> None:
    """Execute jobs until SIGINT or SIGTERM; schedule syncs when ``schedule``; serve the REST API
    when ``api`` is given as (host, port), either None for the project's ``[server]`` setting."""
    runtime = await Runtime.open(project, isolation=isolation)
    runtime.runner.owner = executor_id
    try:
        lost = await runtime.runner.abandon_runs()
        if lost:
            logger.warning("%d runs left unfinished by a stopped process are now failed (WORKER_LOST)", lost)
        # the script runner starts now, not at the first run: its sandbox report is logged at
        # start, and a host that refuses what sandbox = "strict" requires stops the worker here
        await runtime.executor.start()
        runtime.versions.watch()  # a changed project is loaded again for the runs after it
    except BaseException:
        await runtime.close()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scheduler: asyncio.Task[None] | None = None
    server: ApiServer | None = None
    serving: asyncio.Task[None] | None = None
    try:
        await _dbos.launch(
            runtime.job_runner,
            runtime.store.engine.url,
            executor_id,
            concurrency or runtime.project.config.runtime.concurrency,
        )
        if schedule:
            scheduler = asyncio.create_task(Scheduler(runtime.store, runtime.syncs, runtime.flows, tick=tick).run())
        if api is not None:
            settings = runtime.project.config.server
            host, port = api[0] or settings.host, settings.port if api[1] is None else api[1]
            server = ApiServer(create_app(runtime), host, port)
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
        logger.info("stopping: running jobs resume when %s starts again", executor_id)
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
        await _dbos.shutdown()
        await runtime.close()
