"""``splice serve`` and ``splice worker``: run the engine (and the scheduler) until stopped."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from splice.cli._common import ProjectOption, err, run_async
from splice.runtime import Runtime

IdOption = Annotated[
    str | None,
    typer.Option(
        "--id",
        help="Stable worker id; a worker restarted with the same id resumes the jobs it was running.",
        envvar="SPLICE_WORKER_ID",
    ),
]
ConcurrencyOption = Annotated[
    int | None, typer.Option("--concurrency", min=1, max=64, help="Runs at once (default: [runtime] concurrency).")
]
InProcessOption = Annotated[bool, typer.Option("--in-process", help="Run scripts in this process (no isolation).")]


def serve(
    project: ProjectOption = None,
    id: IdOption = None,
    concurrency: ConcurrencyOption = None,
    in_process: InProcessOption = False,
) -> None:
    """Run splice: the scheduler and a worker in one process (Ctrl-C stops it)."""
    _run("serve", project, id, concurrency, in_process, schedule=True)


def worker(
    project: ProjectOption = None,
    id: IdOption = None,
    concurrency: ConcurrencyOption = None,
    in_process: InProcessOption = False,
) -> None:
    """Run a worker that executes queued syncs and actions, beside `splice serve` on the same database."""
    _run("worker", project, id, concurrency, in_process, schedule=False)


def _run(
    role: str, project: Path | None, id: str | None, concurrency: int | None, in_process: bool, schedule: bool
) -> None:
    from splice._engine.worker import default_executor_id, run_worker  # loads the engine: only when serving

    executor_id = id or default_executor_id(role)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")

    def ready(rt: Runtime) -> None:
        what = "scheduler and worker" if schedule else "worker"
        err.print(
            f"splice {role}: {what} {executor_id!r} running on {rt.store!r} (Ctrl-C to stop)",
            highlight=False,
        )

    run_async(
        run_worker(
            project,
            executor_id=executor_id,
            schedule=schedule,
            isolation="none" if in_process else None,
            concurrency=concurrency,
            ready=ready,
        )
    )
