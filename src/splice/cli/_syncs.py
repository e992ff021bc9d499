"""``splice syncs``: what syncs there are, per connection, and how they last ran."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from splice.cli._common import JsonOption, ProjectOption, out, print_json, run_async, with_runtime
from splice.runtime import Runtime

app = typer.Typer(help="Syncs per connection: schedule, last run, records.", no_args_is_help=True)


@app.command("list")
def list_(
    integration: Annotated[str | None, typer.Argument(help="Only this integration.")] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Each sync × connection with its schedule, last run and record counts (live / deleted)."""

    async def work(rt: Runtime) -> None:
        rows = await rt.list_syncs(integration)
        if as_json:
            print_json(rows)
            return
        table = Table("sync", "connection", "schedule", "last run", "records (live / deleted)")
        for row in rows:
            last = row["last_run"]
            ran = f"{last['status']} {last['finished_at'] or ''}" if last else "never"
            counts = ", ".join(f"{m} {c['live']} / {c['deleted']}" for m, c in row["records"].items())
            table.add_row(row["sync"], row["connection"], row["schedule"] or "", ran, counts)
        out.print(table if rows else "no syncs with connections yet — declare one with @integration.sync")

    run_async(with_runtime(project, work))
