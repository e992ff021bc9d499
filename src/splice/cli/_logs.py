"""``splice logs``: search run logs, or follow them as they are written; each run's end shows among them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import typer

from splice.cli._common import ProjectOption, ServerOption, TokenOption, out, print_json, run_async, with_reader
from splice.cli._render import END_LEVEL, end_line, end_text, log_line
from splice.errors import InvalidInput
from splice.store import LogRecord, RunRecord, short_id

if TYPE_CHECKING:
    from splice.cli._common import Reader

Level = Literal["debug", "info", "warning", "error"]
LEVELS: tuple[str, ...] = get_args(Level)
#: the most runs ``GET /runs`` returns at once, so the most ends looked for at once
MAX_ENDS = 500


def logs(
    run: Annotated[str | None, typer.Option("--run", help="Only this run: its id, or the 8 characters shown.")] = None,
    connection: Annotated[str | None, typer.Option("--connection", "-c", help="Only this connection.")] = None,
    script: Annotated[str | None, typer.Option("--script", "-s", help="Only this script (integration.script).")] = None,
    level: Annotated[Level | None, typer.Option("--level", "-l", help="Minimum level.")] = None,
    search: Annotated[str | None, typer.Option("--search", help="Text the message contains.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO time or a duration like 15m, 2h, 1d.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10000, help="Print the newest N lines.")] = 200,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON lines: the log lines only (`splice runs list --json` has the runs).")
    ] = False,
    project: ProjectOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Search log lines of runs, each run's end among them (with --server: of the runs the token may see,
    --limit up to 1000)."""
    integration, script_name = split_script(script)
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
        if run is not None:  # a short id becomes the whole one here, and one that names no run is an error
            filters["run_id"] = (await rt.runs.get(run)).id
        ends = None if as_json else RunEnds(rt, filters)
        after = None
        while True:
            finished = await ends.new(limit) if ends else []  # before the lines: a finished run's are all stored
            lines = await rt.runs.logs(**filters, after_seq=after, limit=limit, latest=after is None)
            events = sorted([*lines, *finished], key=_moment)
            for event in events[-limit:] if after is None else events:
                if isinstance(event, RunRecord):
                    end_line(out, event)
                elif as_json:
                    print_json(_line_json(event), line=True)
                else:
                    log_line(out, event, prefix=f"[dim]{short_id(event.run_id)}[/] ")
            if lines:
                after = lines[-1].seq
            if not follow:
                return
            await asyncio.sleep(0.5)

    run_async(with_reader(project, server, token, work))


class RunEnds:
    """The ends of the runs that ``splice logs``' filters match, each run once, as lines among the others.

    A run's end is a line at the time it finished, at level ``info`` when it succeeded and
    ``error`` when it failed or timed out (``warning`` when cancelled), so ``--level error``
    shows every failed run even when it logged nothing; ``--search`` looks in its text.
    """

    def __init__(self, rt: Reader, filters: dict[str, Any]) -> None:
        self.rt = rt
        self.filters = filters
        self.level = LEVELS.index(filters["level"] or "debug")
        #: a status per query when only some end at the level asked for (``find`` takes one status)
        kept = [status for status, level in END_LEVEL.items() if LEVELS.index(level) >= self.level]
        self.statuses: list[str | None] = [None] if len(kept) == len(END_LEVEL) else list(kept)
        self.shown: set[str] = set()

    async def new(self, limit: int) -> list[RunRecord]:
        """The runs that ended since the last call (the newest ``limit`` at first), oldest first."""
        runs = await self._candidates(min(limit, MAX_ENDS))
        fresh = [run for run in runs if run.id not in self.shown and run.status in END_LEVEL and self._matches(run)]
        self.shown.update(run.id for run in fresh)
        return fresh

    async def _candidates(self, limit: int) -> list[RunRecord]:
        f = self.filters
        if f["run_id"] is not None:
            return [await self.rt.runs.get(f["run_id"])]
        found: list[RunRecord] = []
        for status in self.statuses:
            found += await self.rt.runs.find(
                integration=f["integration"], script=f["script"], connection_id=f["connection_id"], status=status,
                since=f["since"], limit=limit,
            )  # fmt: skip
        return found

    def _matches(self, run: RunRecord) -> bool:
        f = self.filters
        if LEVELS.index(END_LEVEL[run.status]) < self.level:
            return False
        if f["since"] is not None and run.finished_at is not None and run.finished_at < f["since"]:
            return False
        return not f["text"] or f["text"].lower() in end_text(run).lower()


def _moment(event: LogRecord | RunRecord) -> tuple[datetime, int]:
    """When an event happened; a run's end after its lines of the same instant."""
    if isinstance(event, RunRecord):
        return event.finished_at or event.created_at, 1
    return event.ts, 0


def _line_json(line: LogRecord) -> dict[str, Any]:
    return {
        "seq": line.seq,
        "run_id": line.run_id,
        "ts": line.ts.isoformat(),
        "level": line.level,
        "message": line.message,
        "fields": line.fields,
        "script": f"{line.integration}.{line.script}",
        "connection_id": line.connection_id,
    }


def split_script(script: str | None) -> tuple[str | None, str | None]:
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
