"""``splice run``: run an action now, with its logs live and its output as JSON."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from splice.cli._common import ProjectOption, err, parse_json, print_json, run_async, with_runtime
from splice.cli._render import log_line, progress_line, run_error
from splice.errors import InvalidInput
from splice.runtime import Runtime

if TYPE_CHECKING:
    from splice.testing import RecordingTransport


def run(
    script: Annotated[str, typer.Argument(help="integration.script, e.g. acme.create_contact.")],
    connection: Annotated[str | None, typer.Option("--connection", "-c", help="Connection id.")] = None,
    input: Annotated[str | None, typer.Option("--input", "-i", help="Input as JSON, @file or - for stdin.")] = None,
    in_process: Annotated[
        bool, typer.Option("--in-process", help="Run in this process (debugging; no isolation).")
    ] = False,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", min=0.001, help="Seconds before the run is stopped.")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the output (and errors): no log lines, no progress.")
    ] = False,
    background: Annotated[
        bool, typer.Option("--background", help="Queue it for a worker (splice serve / worker); print the job id.")
    ] = False,
    record: Annotated[
        Path | None,
        typer.Option("--record", help="Save the run's API exchanges, input and output as a test fixture (JSON)."),
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Run an action or a sync now; logs (and a sync's progress) go to stderr, the output to stdout as JSON."""
    payload = parse_json(input, "input") if input is not None else None

    async def work(rt: Runtime) -> int:
        if background:
            job = await rt.enqueue(script, connection=connection, input=payload)
            print_json({"job_id": job})
            if not quiet:
                err.print(
                    f"queued {script}: job {job}; a running `splice serve` or `splice worker` runs it "
                    f"(`splice runs show --job {job}` shows how it went)",
                    highlight=False,
                )
            return 0
        before = None
        if recorder is not None:
            from splice.testing import credentials_before

            before = await credentials_before(rt, script, connection)
        started = rt.clock.now()
        record = await rt.run(
            script,
            connection=connection,
            input=payload,
            time_limit=time_limit,
            on_log=None if quiet else (lambda line: log_line(err, line)),
            on_progress=None if quiet else (lambda progress: progress_line(err, progress)),
        )
        if recorder is not None and fixture_path is not None:
            await save_fixture(rt, recorder, record, (started, before), fixture_path, quiet)
        if record.status == "succeeded":
            print_json(record.output)
            if not quiet:
                err.print(f"[green]run {record.id} succeeded[/] in {record.duration_ms:.0f} ms", highlight=False)
            return 0
        run_error(err, record)
        return 1

    options: dict[str, Any] = {"isolation": "none"} if in_process else {}
    recorder, fixture_path = None, record
    if record is not None:
        if background:
            raise InvalidInput("--record runs the script now; it cannot be combined with --background")
        from splice.testing import RecordingTransport

        recorder = RecordingTransport()
        options["transport"] = recorder
    code = run_async(with_runtime(project, work, load="strict", **options))
    raise typer.Exit(code)


async def save_fixture(
    rt: Runtime,
    recorder: RecordingTransport,
    record: Any,
    start: tuple[datetime, dict[str, Any] | None],
    path: Path,
    quiet: bool,
) -> None:
    """Write the run's fixture (refused, with nothing written, if a secret would be in it)."""
    from splice.testing import record_fixture, write_fixture

    fixture, secrets = await record_fixture(rt, recorder, record, *start)
    write_fixture(fixture, path, secrets)
    if not quiet:
        err.print(f"recorded {len(fixture.exchanges)} exchanges to {path}", highlight=False)
