"""``splice syncs``: list, trigger, pause, resume, reschedule and reset syncs per connection."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from splice.cli._common import (
    JsonOption,
    ProjectOption,
    ServerOption,
    TokenOption,
    err,
    fail,
    out,
    print_json,
    run_async,
    with_reader,
    with_runtime,
)
from splice.cli._render import progress_line, table
from splice.runtime import Runtime

if TYPE_CHECKING:
    from splice.cli._common import Reader

app = typer.Typer(help="Syncs per connection: schedule, runs, records.", no_args_is_help=True)

SyncArg = Annotated[str, typer.Argument(help="integration.sync, e.g. acme.contacts.")]
ConnectionOpt = Annotated[str, typer.Option("--connection", "-c", help="Connection id.")]
SomeConnectionOpt = Annotated[
    str | None, typer.Option("--connection", "-c", help="Connection id (default: every connection).")
]


@app.command("list")
def list_(
    integration: Annotated[str | None, typer.Argument(help="Only this integration.")] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Each sync × connection: schedule, last run, next run and record counts (live / deleted)."""

    async def work(rt: Reader) -> None:
        rows = await rt.syncs.list(integration)
        if as_json:
            print_json(rows)
            return
        if not rows:
            out.print("no syncs with connections yet — declare one with @integration.sync")
            return
        cells = []
        for row in rows:
            counts = ", ".join(f"{m} {c['live']:,} / {c['deleted']:,}" for m, c in row["records"].items())
            schedule = (row["schedule"] or "manual") + (" (override)" if row["overridden"] else "")
            cells.append([row["sync"], row["connection"], schedule, _last_run(row), _next_run(row), counts])
        headers = ["sync", "connection", "schedule", "last run", "next run", "records (live / deleted)"]
        out.print(table(out, headers, cells))

    run_async(with_reader(project, server, token, work))


def _last_run(row: dict[str, Any]) -> str:
    last = row["last_run"]
    if last is None:
        return "never"
    when = (last["finished_at"] or last["started_at"] or "")[:19].replace("T", " ")
    attempt = f" (attempt {last['attempt']})" if last["attempt"] > 1 else ""
    progress = last.get("progress") or {}
    records = f", {progress['records']:,} records" if last["status"] == "running" and progress else ""
    return f"{last['status']}{attempt} {when}{records}".strip()


def _next_run(row: dict[str, Any]) -> str:
    if row["connection_status"] == "error":
        return "— (connection broken)"
    if row["paused"]:
        return "paused"
    if row["next_run"] is None:
        return "— (manual)"
    due = datetime.fromisoformat(row["next_run"])
    return "due now" if due <= datetime.now(UTC) else f"{due:%Y-%m-%d %H:%M:%S}"


@app.command()
def trigger(
    sync: SyncArg,
    connection: ConnectionOpt,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Wait for the run and show its progress.")] = False,
    project: ProjectOption = None,
) -> None:
    """Queue a run now; `splice serve` or `splice worker` runs it (refused while one is queued or running)."""

    async def work(rt: Runtime) -> int:
        job = await rt.syncs.trigger(sync, connection)
        err.print(f"queued {sync} for {connection}: job {job}", highlight=False)
        if not wait:
            err.print("[dim]a running `splice serve` or `splice worker` picks it up[/]", highlight=False)
            return 0
        summary = await rt.wait_job(job, on_progress=lambda p: progress_line(err, p))
        if summary.get("run_id"):
            run = await rt.runs.get(summary["run_id"])
            print_json({"job_id": job, "run_id": run.id, "status": run.status, "attempt": run.attempt,
                        "output": run.output, "error": run.error})  # fmt: skip
        else:
            print_json({"job_id": job, **summary})
        return 0 if summary.get("status") == "succeeded" else 1

    raise typer.Exit(run_async(with_runtime(project, work, load="strict")))


@app.command()
def pause(sync: SyncArg, connection: SomeConnectionOpt = None, project: ProjectOption = None) -> None:
    """Stop scheduling a sync (a running run finishes; `trigger` still runs it on demand)."""

    async def work(rt: Runtime) -> None:
        ids = await rt.syncs.pause(sync, connection)
        err.print(f"paused {sync} for {_names(ids)}", highlight=False)

    run_async(with_runtime(project, work))


@app.command()
def resume(sync: SyncArg, connection: SomeConnectionOpt = None, project: ProjectOption = None) -> None:
    """Schedule a paused sync again."""

    async def work(rt: Runtime) -> None:
        ids = await rt.syncs.resume(sync, connection)
        err.print(f"resumed {sync} for {_names(ids)}", highlight=False)

    run_async(with_runtime(project, work))


@app.command()
def schedule(
    sync: SyncArg,
    connection: ConnectionOpt,
    every: Annotated[str | None, typer.Option("--every", help="Interval, 30s to 31d, e.g. 1h.")] = None,
    cron: Annotated[str | None, typer.Option("--cron", help='Cron expression, e.g. "0 * * * *".')] = None,
    default: Annotated[bool, typer.Option("--default", help="Back to the schedule the sync declares.")] = False,
    project: ProjectOption = None,
) -> None:
    """Override when a sync runs for one connection (or restore its own schedule with --default)."""
    if default == (every is not None or cron is not None):
        fail("pass --every or --cron to override the schedule, or --default to restore it")

    async def work(rt: Runtime) -> None:
        row = await rt.syncs.schedule(sync, connection, every=every, cron=cron)
        err.print(f"{sync} for {connection}: {row['schedule']}, next run {_next_run(row)}", highlight=False)

    run_async(with_runtime(project, work))


@app.command()
def reset(
    sync: SyncArg,
    connection: ConnectionOpt,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    project: ProjectOption = None,
) -> None:
    """Delete a sync's checkpoint and records for a connection; its next run is a full sync."""
    if not yes:
        typer.confirm(f"delete every record {sync} stored for {connection} and its checkpoint?", abort=True)

    async def work(rt: Runtime) -> None:
        result = await rt.syncs.reset(sync, connection)
        err.print(
            f"reset {sync} for {connection}: {result['records_deleted']:,} records deleted"
            + (", checkpoint cleared" if result["checkpoint_cleared"] else ""),
            highlight=False,
        )

    run_async(with_runtime(project, work))


def _names(ids: list[str]) -> str:
    return ", ".join(ids) if ids else "no connections (none exist yet)"
