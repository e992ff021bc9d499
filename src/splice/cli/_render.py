"""How runs and log lines look in a terminal (and runs in ``--json``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from splice.errors import ActionError, error_from_dict
from splice.store import LogLine, RunRecord, short_id

_LEVEL_STYLE = {"debug": "dim", "info": "cyan", "warning": "yellow", "error": "bold red"}
_STATUS_STYLE = {"succeeded": "green", "failed": "bold red", "timed_out": "bold red", "cancelled": "yellow"}
#: the level a run's end shows at in ``splice logs`` (and which ``--level`` keeps it)
END_LEVEL = {"succeeded": "info", "failed": "error", "timed_out": "error", "cancelled": "warning"}
#: a run's fields in ``--json``, in the order ``GET /runs`` has them (its ``owner`` is internal)
_RUN_FIELDS = ("id", "kind", "integration", "script", "connection_id", "status", "input", "output", "error",
               "attempt", "parent_id", "job_id", "test_mode", "progress", "created_at", "started_at",
               "finished_at", "duration_ms", "project_version")  # fmt: skip


def log_line(console: Console, line: LogLine, prefix: str = "") -> None:
    _line(console, line.ts, line.level, prefix, escape(line.message))


def _line(console: Console, ts: datetime, level: str, prefix: str, text: str) -> None:
    style = _LEVEL_STYLE.get(level, "")
    console.print(f"[dim]{ts:%H:%M:%S.%f}"[:-3] + f"[/] {prefix}[{style}]{level:<7}[/] {text}", highlight=False)


def end_text(run: RunRecord) -> str:
    """``run 1f8e45bb failed [ACTION_ERROR] …`` or ``run 1f8e45bb succeeded in 12 ms``, plain."""
    head = f"run {short_id(run.id)} {run.status}"
    if run.status == "succeeded":
        return f"{head} in {took(run)}"
    error = run.error or {}
    message, *more = str(error.get("message")).splitlines() or [""]
    return f"{head} [{error.get('code')}] {message}" + (" …" if more else "")  # one line, as every log line


def end_line(console: Console, run: RunRecord) -> None:
    """A finished run's end as one more line of ``splice logs``, at the time it finished."""
    level = END_LEVEL.get(run.status, "info")
    style = _STATUS_STYLE.get(run.status, "")
    text = f"[{style}]{escape(end_text(run))}[/]" if style else escape(end_text(run))
    _line(console, run.finished_at or run.created_at, level, f"[dim]{short_id(run.id)}[/] ", text)


def status_text(run: RunRecord) -> str:
    """``failed ACTION_ERROR``, ``succeeded``, ``running (attempt 2)``: styled."""
    text = run.status
    if run.error and run.status != "succeeded":
        text += f" {run.error.get('code')}"
    if run.attempt > 1:
        text += f" (attempt {run.attempt})"
    style = _STATUS_STYLE.get(run.status)
    return f"[{style}]{escape(text)}[/]" if style else escape(text)


def took(run: RunRecord) -> str:
    """How long a run took: ``12 ms``, ``3.4 s``, ``2 min 5 s``; ``—`` while it has not ended."""
    if run.duration_ms is None:
        return "—"
    if run.duration_ms < 1000:
        return f"{run.duration_ms:.0f} ms"
    seconds = run.duration_ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


def run_json(run: RunRecord) -> dict[str, Any]:
    """A run as ``--json`` prints it: the fields of ``GET /runs/{id}``."""
    return {name: getattr(run, name) for name in _RUN_FIELDS}


def run_error(console: Console, run: RunRecord) -> None:
    error: dict[str, Any] = run.error or {}
    console.print(
        f"[bold red]run {run.id} {run.status}:[/] [{error.get('code')}] {escape(str(error.get('message')))}",
        highlight=False,
    )
    details = error.get("details") or {}
    if isinstance(error_from_dict(error), ActionError):
        console.print(f"payload: {details.get('payload')!r}", highlight=False)
    if details.get("traceback"):
        console.print(escape(details["traceback"].rstrip()), highlight=False, style="dim")
    if error.get("hint"):
        console.print(f"[dim]hint:[/] {escape(error['hint'])}", highlight=False)


def progress_line(console: Console, progress: dict[str, Any]) -> None:
    """``progress 30 pages · 3,000 records · 1,400 records/s · 2.1 s`` on its own line."""
    attempt = progress.get("attempt")
    head = f"attempt {attempt}: " if attempt and attempt > 1 else ""
    console.print(f"[magenta]progress[/] {head}{progress_text(progress)}", highlight=False)


def progress_text(progress: dict[str, Any]) -> str:
    """``30 pages · 3,000 records · 1,400 records/s · 2.1 s``."""
    pages, requests = progress.get("pages", 0), progress.get("requests", 0)
    retried = f" ({requests - pages:,} more requests failed or retried)" if requests > pages else ""
    return (
        f"{pages:,} pages · {progress.get('records', 0):,} records · "
        f"{progress.get('records_per_s', 0):,} records/s · {progress.get('elapsed_s', 0):.1f} s{retried}"
    )


def table(console: Console, headers: list[str], rows: list[list[str]], names: int = 2) -> Table:
    """A table whose first ``names`` columns (ids, names) are never cut short, however narrow the terminal.

    Names keep their whole width while the other columns can still hold their longest word
    (they wrap at spaces); on a terminal too narrow even for that, the longest names fold onto
    more lines: never ``jsoncrm.con…``. Name cells are plain text; the others may hold markup.
    """
    grid = Table(*headers, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    cells = [[escape(cell) for cell in row[:names]] + list(row[names:]) for row in rows]
    columns = list(zip(headers, *([Text.from_markup(cell).plain for cell in row] for row in cells), strict=True))
    natural = [max(cell_len(line) for text in column for line in text.splitlines() or [""]) for column in columns]
    longest_word = [max(cell_len(word) for text in column for word in text.split() or [""]) for column in columns]
    room = console.width - 2 * (len(headers) - 1)  # between columns: a space of padding and a border
    if sum(natural) > room:
        for column, width in zip(grid.columns, _fit(natural, longest_word, names, room), strict=True):
            column.width = max(width, 1)
    for column in grid.columns[:names]:
        column.overflow = "fold"
    for row in cells:
        grid.add_row(*row)
    return grid


def _fit(natural: list[int], longest_word: list[int], names: int, room: int) -> list[int]:
    """Column widths within ``room``: names whole and the others their longest word, then what is
    left shared out; when even that does not fit, the names share what the others leave."""
    least = natural[:names] + longest_word[names:]
    if sum(least) > room:
        return _share(room - sum(least[names:]), natural[:names]) + least[names:]
    lacking = [want - have for want, have in zip(natural, least, strict=True)]
    return [have + more for have, more in zip(least, _share(room - sum(least), lacking), strict=True)]


def _share(room: int, wants: list[int]) -> list[int]:
    """Max-min fair shares of ``room``: the smallest wants are met whole, the rest split what is left."""
    shares = [0] * len(wants)
    for done, index in enumerate(sorted(range(len(wants)), key=wants.__getitem__)):
        shares[index] = max(min(wants[index], room // (len(wants) - done)), 0)
        room -= shares[index]
    return shares
