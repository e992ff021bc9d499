"""A worker process: the engine executing jobs, and (for ``splice serve``) the scheduler.

``splice serve`` = engine + scheduler + workers in one process (the REST server joins it
later); ``splice worker`` = engine only, sharing the database. Give every worker a stable
``executor_id``: a worker restarted under the same id resumes the jobs it was running when
it stopped (DBOS recovers per executor). SIGINT / SIGTERM stop it; runs it was in the middle
of are cancelled and picked up again by the next start with the same id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable
from pathlib import Path

from splice._engine import _dbos
from splice._engine.scheduler import Scheduler
from splice.runtime import Runtime

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
    ready: Callable[[Runtime], None] | None = None,
) -> None:
    """Execute jobs (and schedule syncs when ``schedule``) until SIGINT or SIGTERM."""
    runtime = await Runtime.open(project, isolation=isolation)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scheduler: asyncio.Task[None] | None = None
    try:
        await _dbos.launch(runtime, executor_id, concurrency or runtime.project.config.runtime.concurrency)
        if schedule:
            scheduler = asyncio.create_task(Scheduler(runtime, tick=tick).run())
        if ready is not None:
            ready(runtime)
        await stop.wait()
        logger.info("stopping: running jobs resume when %s starts again", executor_id)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if scheduler is not None:
            scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scheduler
        await _dbos.shutdown()
        await runtime.close()
