"""``splice logs``: search run logs, or follow them as they are written."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from splice.cli._common import ProjectOption, ServerOption, TokenOption, out, print_json, run_async, with_reader
from splice.cli._render import log_line
from splice.errors import InvalidInput

if TYPE_CHECKING:
    from splice.cli._common import Reader

Level = Literal["debug", "info", "warning", "error"]


def logs(
    run: Annotated[str | None, typer.Option("--run", help="Only this run id.")] = None,
    connection: Annotated[str | None, typer.Option("--connection", "-c", help="Only this connection.")] = None,
    script: Annotated[str | None, typer.Option("--script", "-s", help="Only this script (integration.script).")] = None,
    level: Annotated[Level | None, typer.Option("--level", "-l", help="Minimum level.")] = None,
    search: Annotated[str | None, typer.Option("--search", help="Text the message contains.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO time or a duration like 15m, 2h, 1d.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10000, help="Print the newest N lines.")] = 200,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    project: ProjectOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Search log lines of runs (with --server: of the runs the token may see, --limit up to 1000)."""
    integration, script_name = _split_script(script)
    filters = {
        "run_id": run,
        "connection_id": connection,
        "integration": integration,
        "script": script_name,
        "level": level,
        "text": search,
        "since": parse_since(since, "--since"),
    }

    async def work(rt: Reader) -> None:
        after = None
        while True:
            lines = await rt.runs.logs(**filters, after_seq=after, limit=limit, latest=after is None)
            for line in lines:
                if as_json:
                    print_json(
                        {
                            "seq": line.seq,
                            "run_id": line.run_id,
                            "ts": line.ts.isoformat(),
                            "level": line.level,
                            "message": line.message,
                            "fields": line.fields,
                            "script": f"{line.integration}.{line.script}",
                            "connection_id": line.connection_id,
                        },
                        line=True,
                    )
                else:
                    log_line(out, line, prefix=f"[dim]{line.run_id[-8:]}[/] ")
            if lines:
                after = lines[-1].seq
            if not follow:
                return
            await asyncio.sleep(0.5)

    run_async(with_reader(project, server, token, work))


def _split_script(script: str | None) -> tuple[str | None, str | None]:
    if script is None:
        return None, None
    integration, dot, name = script.partition(".")
    return (integration, name) if dot else (None, script)


def parse_since(since: str | None, option: str) -> datetime | None:
    """An ISO time or a duration back from now (``15m``, ``2h``, ``1d``)."""
    if since is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if since[-1:] in units and since[:-1].isdigit():
        return datetime.now(UTC) - timedelta(seconds=int(since[:-1]) * units[since[-1]])
    try:
        value = datetime.fromisoformat(since)
    except ValueError:
        raise InvalidInput(
            f"{option} {since!r} is neither an ISO time nor a duration", hint="use e.g. 15m, 2h, 1d or 2026-11-22T10:00"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
