"""How runs and log lines look in a terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from splice.errors import ActionError, error_from_dict
from splice.store import LogLine, RunRecord

_LEVEL_STYLE = {"debug": "dim", "info": "cyan", "warning": "yellow", "error": "bold red"}


def log_line(console: Console, line: LogLine, prefix: str = "") -> None:
    style = _LEVEL_STYLE.get(line.level, "")
    console.print(
        f"[dim]{line.ts:%H:%M:%S.%f}"[:-3] + f"[/] {prefix}[{style}]{line.level:<7}[/] {escape(line.message)}",
        highlight=False,
    )


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
    pages, requests = progress.get("pages", 0), progress.get("requests", 0)
    retried = f" ({requests - pages:,} more requests failed or retried)" if requests > pages else ""
    console.print(
        f"[magenta]progress[/] {head}{pages:,} pages · {progress.get('records', 0):,} records · "
        f"{progress.get('records_per_s', 0):,} records/s · {progress.get('elapsed_s', 0):.1f} s{retried}",
        highlight=False,
    )
