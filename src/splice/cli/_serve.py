"""``splice serve`` and ``splice worker``: run the engine (and the scheduler) until stopped."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from splice.cli._common import ProjectOption, err, run_async
from splice.runtime import Runtime

IdOption = Annotated[
    str | None,
    typer.Option(
        "--id",
        help="Worker id (default <role>-<host>-<pid>); a worker restarted with the same id resumes its jobs at once.",
        envvar="SPLICE_WORKER_ID",
    ),
]
ConcurrencyOption = Annotated[
    int | None, typer.Option("--concurrency", min=1, max=64, help="Runs at once (default: \\[runtime] concurrency).")
]
InProcessOption = Annotated[bool, typer.Option("--in-process", help="Run scripts in this process (no isolation).")]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        metavar="URL",
        help="The database to run on (default: the project's). With no project folder here, the version "
        "deployed there runs (splice deploy); SPLICE_SECRET_KEY must hold the key of the project that deployed it.",
        envvar="SPLICE_DATABASE_URL",
    ),
]


def serve(
    project: ProjectOption = None,
    id: IdOption = None,
    concurrency: ConcurrencyOption = None,
    in_process: InProcessOption = False,
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default: \\[server] host).")] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=0, max=65535, help="Port (default: \\[server] port, 8080).")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Run splice: the REST API, the scheduler and a worker in one process (Ctrl-C stops it)."""
    _run("serve", project, id, concurrency, in_process, schedule=True, api=(host, port), database_url=database_url)


def worker(
    project: ProjectOption = None,
    id: IdOption = None,
    concurrency: ConcurrencyOption = None,
    in_process: InProcessOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Run a worker that executes queued syncs and actions, beside `splice serve` on the same database."""
    _run("worker", project, id, concurrency, in_process, schedule=False, api=None, database_url=database_url)


def _run(
    role: str,
    project: Path | None,
    id: str | None,
    concurrency: int | None,
    in_process: bool,
    schedule: bool,
    api: tuple[str | None, int | None] | None,
    database_url: str | None = None,
) -> None:
    from splice._engine.worker import default_executor_id, run_worker  # loads the engine: only when serving

    if database_url:
        os.environ["SPLICE_DATABASE_URL"] = database_url  # the project's settings then name the same database
    executor_id = id or default_executor_id(role)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("splice").setLevel(logging.INFO)

    def ready(rt: Runtime, url: str | None) -> None:
        what = "scheduler and worker" if schedule else "worker"
        deployed = rt.versions.current.deployed
        code = "" if deployed is None else f", deployed version {deployed}"
        err.print(
            f"splice {role}: {what} {executor_id!r} running on {rt.store!r}{code} (Ctrl-C to stop)",
            highlight=False,
        )
        if url:
            err.print(f"REST API on {url} (docs: {url}/docs)", highlight=False)

    run_async(
        run_worker(
            project,
            executor_id=executor_id,
            schedule=schedule,
            isolation="none" if in_process else None,
            concurrency=concurrency,
            api=api,
            ready=ready,
            database_url=database_url,
        )
    )
