"""``splice runs list|show``: what ran, how it ended and why, locally or on a server (``--server``);
``splice runs errors|retry-errors``: an import run's failed records, and retrying them (local only)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import orjson
import typer
from rich.markup import escape

from splice.cli._common import (
    JsonOption,
    ProjectOption,
    ServerOption,
    TokenOption,
    err,
    fail,
    out,
    parse_json,
    print_json,
    run_async,
    with_reader,
    with_runtime,
)
from splice.cli._logs import parse_since, split_script
from splice.cli._render import progress_text, run_json, status_text, table, took
from splice.cli._transfers import report_batch
from splice.errors import ActionError, InvalidInput, error_from_dict
from splice.store import RunRecord, short_id

if TYPE_CHECKING:
    from datetime import datetime

    from rich.table import Table

    from splice.cli._common import Reader
    from splice.runtime import Runtime

app = typer.Typer(
    help="Runs of actions, syncs, triggers, flows, exports and imports: what ran, how it ended and why; "
    "an import run's failed records (errors, retry-errors).",
    no_args_is_help=True,
)

Status = Literal["queued", "running", "succeeded", "failed", "timed_out", "cancelled"]
Kind = Literal["action", "sync", "trigger", "flow", "step", "branch", "for_each"]
ErrorStatus = Literal["open", "retried", "failed_again"]
#: child runs ``runs show`` lists at most (a script may trigger many actions)
MAX_CHILDREN = 100


@app.command("list")
def list_(
    script: Annotated[str | None, typer.Option("--script", "-s", help="Only this script (integration.script).")] = None,
    connection: Annotated[str | None, typer.Option("--connection", "-c", help="Only this connection.")] = None,
    status: Annotated[Status | None, typer.Option("--status", help="Only runs with this status.")] = None,
    kind: Annotated[
        Kind | None,
        typer.Option("--kind", help="Only this kind: action, sync, trigger, flow; a flow's step, branch, for_each."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Runs created since: ISO time or a duration like 15m, 2h, 1d.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500, help="How many runs (newest first).")] = 20,
    before: Annotated[
        str | None, typer.Option("--before", metavar="RUN", help="The next page: runs older than this run id.")
    ] = None,
    as_json: JsonOption = False,
    project: ProjectOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """List runs newest first: script, connection, status (and error code), when, how long."""
    integration, script_name = split_script(script)
    filters = {
        "integration": integration,
        "script": script_name,
        "connection_id": connection,
        "status": status,
        "kind": kind,
        "since": parse_since(since, "--since"),
        "before_id": before,
    }

    async def work(rt: Reader) -> None:
        runs = await rt.runs.find(**filters, limit=limit)
        if as_json:
            print_json([run_json(run) for run in runs])
            return
        if not runs:
            out.print("no runs match" if any(filters.values()) else "no runs yet — start one with `splice run`")
            return
        out.print(runs_table(runs))
        if len(runs) == limit:
            err.print(f"[dim]older runs: add --before {short_id(runs[-1].id)}[/]", highlight=False)

    run_async(with_reader(project, server, token, work))


@app.command("show")
def show(
    run: Annotated[str | None, typer.Argument(help="A run id, whole or its last 8 characters as listed.")] = None,
    job: Annotated[
        str | None, typer.Option("--job", "-j", help="A job id (splice run --background): its latest attempt.")
    ] = None,
    as_json: JsonOption = False,
    project: ProjectOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Show one run: status, error and traceback, input, output, times, the job's attempts, child runs."""
    if (run is None) == (job is None):
        fail("pass a run id, or --job JOB", "`splice runs list` shows the runs and their ids")

    async def work(rt: Reader) -> None:
        if run is not None:
            record = await rt.runs.get(run)
            attempts = [] if record.job_id is None else await rt.runs.attempts(record.job_id)
        else:
            attempts = await rt.runs.attempts(str(job))
            record = attempts[0]  # the latest
        children = await rt.runs.find(parent_id=record.id, limit=MAX_CHILDREN)
        if as_json:
            shown = [run_json(attempt) for attempt in attempts]
            print_json({**run_json(record), "attempts": shown, "children": [run_json(c) for c in children]})
            return
        _show(record, attempts, children)

    run_async(with_reader(project, server, token, work))


@app.command("errors")
def errors(
    run: Annotated[str, typer.Argument(help="An export or import run id, whole or its last 8 characters.")],
    status: Annotated[ErrorStatus | None, typer.Option("--status", help="Only errors with this status.")] = None,
    as_json: JsonOption = False,
    project: ProjectOption = None,
) -> None:
    """The records an import or export run could not process: id, stage, code, message, status.
    Local project only (no --server)."""

    async def work(rt: Runtime) -> None:
        found = await rt.runs.errors(run, status=status)
        if as_json:
            print_json([error.to_json() for error in found])
        elif not found:
            out.print(f"no record errors in run {run}" + (f" with status {status}" if status else ""), highlight=False)
        else:
            rows = [[e.id, e.stage, e.code, _cut(e.message), e.status] for e in found]
            out.print(table(out, ["error", "stage", "code", "message", "status"], rows, names=1))

    run_async(with_runtime(project, work))


@app.command("retry-errors")
def retry_errors(
    run: Annotated[str, typer.Argument(help="The import run, whole or its last 8 characters.")],
    error_ids: Annotated[
        list[str] | None, typer.Option("--id", metavar="ERR", help="Only this open error (repeat for more).")
    ] = None,
    data_file: Annotated[
        Path | None,
        typer.Option("--data-file", help="A JSON object: error id → the data to retry it with (its retry_data.data)."),
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Retry an import run's open record errors alone, each from the stage it failed at (one run per
    stage), with its saved data or the --data-file's. Local project only (no --server).

    Exit code 1 when any record failed again, 0 otherwise.
    """
    edits = _edits(data_file)

    async def work(rt: Runtime) -> int:
        outcomes = await rt.imports.retry_errors(run, ids=error_ids or None, data=edits)
        if not outcomes:
            out.print(f"no open record errors in run {run}: nothing to retry", highlight=False)
            return 0
        failed = 0
        for sent in outcomes:
            failed += await report_batch(rt, "retry", sent)
        return 1 if failed else 0

    raise typer.Exit(run_async(with_runtime(project, work)))


def _edits(file: Path | None) -> dict[str, Any] | None:
    if file is None:
        return None
    edits = parse_json(f"@{file}", "data-file")
    if not isinstance(edits, dict):
        raise InvalidInput(f"{file} holds a JSON {type(edits).__name__}, not an object of error id → data",
                           hint='write it as {"err_…": {...the record\'s retry data...}}')  # fmt: skip
    return edits


def _cut(text: str, width: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def runs_table(runs: list[RunRecord], mark: str | None = None) -> Table:
    """One row a run; the run ``mark`` names gets a ``←``. Ids and names are never cut short."""
    rows = [
        [
            short_id(run.id) + (" ←" if run.id == mark else ""),
            f"{run.integration}.{run.script}",
            run.connection_id or "—",
            status_text(run),
            _when(run.started_at or run.created_at),
            took(run),
        ]
        for run in runs
    ]
    return table(out, ["run", "script", "connection", "status", "started (UTC)", "took"], rows, names=3)


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def _show(run: RunRecord, attempts: list[RunRecord], children: list[RunRecord]) -> None:
    for label, value in _fields(run):
        out.print(f"[bold]{label:<11}[/]{value}", highlight=False)
    if run.progress:
        out.print(f"[bold]{'progress':<11}[/]{progress_text(run.progress)}", highlight=False)
    for label, value in (("input", run.input), ("output", run.output)):
        if value is not None:
            _block(label, _json(value))
    if run.error:
        _error(run.error)
    if len(attempts) > 1:
        out.print(f"[bold]attempts of job {escape(run.job_id or '')}[/] (newest first)", highlight=False)
        out.print(runs_table(attempts, mark=run.id))
    if children and run.kind == "flow":
        out.print("[bold]steps[/] (in order; a loop's iterations under it)", highlight=False)
        for line in step_tree(children):
            out.print(line, highlight=False)
    elif children:
        more = f" (the first {MAX_CHILDREN})" if len(children) == MAX_CHILDREN else ""
        out.print(f"[bold]runs it started[/]{more}", highlight=False)
        out.print(runs_table(children))


def step_tree(steps: list[RunRecord]) -> list[str]:
    """A flow run's step runs as a tree: each step in document order, a branch's or a loop's
    steps indented under it (``[2]`` for a loop's third item), every attempt of a step shown."""
    order: dict[str, int] = {}
    for child in sorted(steps, key=lambda r: r.created_at):
        order.setdefault(_top(child.step or ""), len(order))

    def position(child: RunRecord) -> tuple[int, int, str, datetime]:
        key = child.step or ""
        nested = key != _top(key)
        return order[_top(key)], int(nested), key, child.created_at

    lines = []
    for child in sorted(steps, key=position):
        key = child.step or "?"
        depth = key.count("/")
        name = key.rsplit("/", 1)[-1]
        if depth:
            name = key.split("/")[0].removeprefix(_top(key)) + " " + name
        result = ""
        if child.kind in ("branch", "for_each") and child.status == "succeeded":
            output = child.output
            result = f"  → case {output.get('case')}" if child.kind == "branch" else f"  → {len(output or [])} items"
        label = f"{'  ' * depth}{name}"
        lines.append(f"  {status_text(child):<12} {escape(label):<34} {child.kind:<9} {took(child):>8}  "
                     f"{short_id(child.id)}{result}")  # fmt: skip
    return lines


def _top(key: str) -> str:
    """The top-level step a key belongs to: ``"Each order[2]/Check order"`` → ``"Each order"``."""
    return key.split("/")[0].split("[")[0]


def _fields(run: RunRecord) -> list[tuple[str, str]]:
    rows = [
        ("run", f"{escape(run.id)} ({short_id(run.id)})"),
        ("script", escape(f"{run.integration}.{run.script} ({run.kind})")),
        ("connection", escape(run.connection_id or "—")),
        ("status", status_text(run)),
    ]
    if run.job_id:
        rows.append(("job", escape(f"{run.job_id}, attempt {run.attempt}")))
    if run.parent_id:
        rows.append(("started by", escape(f"{run.parent_id} ({short_id(run.parent_id)})")))
    if run.project_version is not None:
        rows.append(("code", f"deployed version {run.project_version}"))
    rows.append(("created", _when(run.created_at) + " UTC"))
    if run.started_at:
        rows.append(("started", _when(run.started_at) + " UTC"))
    if run.finished_at:
        rows.append(("finished", f"{_when(run.finished_at)} UTC, took {took(run)}"))
    return rows


def _error(error: dict[str, Any]) -> None:
    """The error's code and message, an ActionError's payload, the script's traceback, the hint."""
    headline = f"[{error.get('code')}] {error.get('message')}"
    out.print(f"[bold]{'error':<11}[/][red]{escape(headline)}[/]", highlight=False)
    details = error.get("details") or {}
    if isinstance(error_from_dict(error), ActionError):
        _block("payload", _json(details.get("payload")))
    if details.get("traceback"):
        _block("traceback", str(details["traceback"]).rstrip())
    if error.get("hint"):
        out.print(f"[bold]{'hint':<11}[/]{escape(str(error['hint']))}", highlight=False)


def _block(label: str, text: str) -> None:
    out.print(f"[bold]{label}[/]", highlight=False)
    out.print(escape("\n".join("  " + line for line in text.splitlines())), highlight=False)


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()
