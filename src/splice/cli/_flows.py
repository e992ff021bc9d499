"""``splice flows``: list flows, show one's document, run one, retry a failed run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from splice.cli._common import JsonOption, ProjectOption, err, out, parse_json, print_json, run_async, with_runtime
from splice.cli._render import log_line, run_error
from splice.cli._run import save_fixture
from splice.errors import InvalidInput
from splice.runtime import Runtime
from splice.store import RunRecord

app = typer.Typer(help="Flows: a trigger plus durable steps.", no_args_is_help=True)


@app.command("list")
def list_flows(as_json: JsonOption = False, project: ProjectOption = None) -> None:
    """Every flow: declared in the project's code or created over the API."""

    async def work(rt: Runtime) -> int:
        flows = await rt.flows.list()
        if as_json:
            print_json([f.document() for f in flows])
            return 0
        for flow in flows:
            trigger = flow.trigger.to_json()
            start = trigger.get("trigger") or trigger.get("every") or trigger.get("cron") or "on demand"
            out.print(f"{flow.id:<32} {trigger['type']:<9} {start!s:<24} {len(flow.steps)} steps  {flow.source}",
                      highlight=False)  # fmt: skip
        if not flows:
            err.print("no flows: declare one with integration.flow(...) or POST /flows")
        return 0

    raise typer.Exit(run_async(with_runtime(project, work)))


@app.command("show")
def show(flow: Annotated[str, typer.Argument(help="integration.name")], project: ProjectOption = None) -> None:
    """A flow's canonical JSON document (what GET /flows/{id} returns)."""

    async def work(rt: Runtime) -> int:
        print_json((await rt.flows.get(flow)).document())
        return 0

    raise typer.Exit(run_async(with_runtime(project, work)))


@app.command("run")
def run(
    flow: Annotated[str, typer.Argument(help="integration.name, e.g. acme.onboard")],
    connection: Annotated[str | None, typer.Option("--connection", "-c", help="The customer's connection id.")] = None,
    payload: Annotated[
        str | None, typer.Option("--payload", help="The trigger payload as JSON, @file or - for stdin.")
    ] = None,
    background: Annotated[
        bool, typer.Option("--background", help="Queue it for a worker (splice serve / worker); print the run id.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print log lines.")] = False,
    in_process: Annotated[bool, typer.Option("--in-process", help="Run steps in this process (debugging).")] = False,
    record: Annotated[
        Path | None,
        typer.Option("--record", help="Save the run's API exchanges, payload and step results as a test fixture."),
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Run a flow now (here, its steps in sandboxed children), or queue it with --background."""
    data = parse_json(payload, "payload") if payload is not None else None
    options: dict[str, Any] = {"isolation": "none"} if in_process else {}
    recorder = None
    if record is not None:
        if background:
            raise InvalidInput("--record runs the flow now; it cannot be combined with --background")
        from splice.testing import RecordingTransport

        recorder = options["transport"] = RecordingTransport()

    async def work(rt: Runtime) -> int:
        before = None
        if recorder is not None:
            from splice.testing import credentials_before

            before = await credentials_before(rt, flow, connection)
        started = rt.clock.now()
        run = await rt.flows.run(flow, connection=connection, payload=data, background=background,
                                 on_log=None if quiet else (lambda line: log_line(err, line)))  # fmt: skip
        if recorder is not None and record is not None:
            await save_fixture(rt, recorder, run, (started, before), record, quiet)
        return await _finished(rt, run, background)

    raise typer.Exit(run_async(with_runtime(project, work, **options)))


@app.command("retry")
def retry(
    run_id: Annotated[str, typer.Argument(help="The failed flow run.")],
    from_step: Annotated[
        str | None,
        typer.Option("--from-step", help="Start at this step ('start' for the first); default: the failed one."),
    ] = None,
    version: Annotated[
        str, typer.Option("--version", help="original: the flow as the run had it; latest: as it is now.")
    ] = "original",
    background: Annotated[bool, typer.Option("--background", help="Queue it for a worker.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print log lines.")] = False,
    project: ProjectOption = None,
) -> None:
    """Run a failed flow run again from its failed step, reusing the results before it."""
    chosen: Literal["original", "latest"] = "latest" if version == "latest" else "original"
    if version not in ("original", "latest"):
        err.print(f"[red]error:[/] --version must be original or latest, not {version!r}", highlight=False)
        raise typer.Exit(1)

    async def work(rt: Runtime) -> int:
        record = await rt.flows.retry(run_id, from_step=from_step, version=chosen, background=background,
                                      on_log=None if quiet else (lambda line: log_line(err, line)))  # fmt: skip
        return await _finished(rt, record, background)

    raise typer.Exit(run_async(with_runtime(project, work)))


async def _finished(rt: Runtime, record: RunRecord, background: bool) -> int:
    if background:
        print_json({"run_id": record.id, "job_id": record.job_id, "status": record.status})
        err.print(f"queued flow run {record.id}; a running `splice serve` or `splice worker` runs it")
        return 0
    steps = list(reversed(await rt.runs.find(parent_id=record.id, limit=10_000)))
    for step in steps:
        took = f"{step.duration_ms:.0f} ms" if step.duration_ms is not None else "-"
        err.print(f"  {step.status:<9} {step.step} ({step.kind}, {took})", highlight=False)
    if record.status == "succeeded":
        print_json(record.output)
        err.print(f"[green]flow run {record.id} succeeded[/] ({len(steps)} step runs)", highlight=False)
        return 0
    run_error(err, record)
    return 1


@app.command("pause")
def pause(
    flow: Annotated[str, typer.Argument(help="A scheduled flow, integration.name")],
    connection: Annotated[str | None, typer.Option("--connection", "-c", help="One connection (default: all).")] = None,
    project: ProjectOption = None,
) -> None:
    """Stop scheduling a flow (for one connection, or all of its integration's)."""

    async def work(rt: Runtime) -> int:
        ids = await rt.flows.pause(flow, connection)
        err.print(f"paused {flow} for {', '.join(ids) or 'no connections'}", highlight=False)
        return 0

    raise typer.Exit(run_async(with_runtime(project, work)))


@app.command("resume")
def resume(
    flow: Annotated[str, typer.Argument(help="A scheduled flow, integration.name")],
    connection: Annotated[str | None, typer.Option("--connection", "-c", help="One connection (default: all).")] = None,
    project: ProjectOption = None,
) -> None:
    """Schedule a paused flow again; it runs at its next slot."""

    async def work(rt: Runtime) -> int:
        ids = await rt.flows.resume(flow, connection)
        err.print(f"resumed {flow} for {', '.join(ids) or 'no connections'}", highlight=False)
        return 0

    raise typer.Exit(run_async(with_runtime(project, work)))
