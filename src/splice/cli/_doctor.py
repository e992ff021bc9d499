"""``splice doctor``: which protections this host grants to script runs, and the fallbacks."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.table import Table

from splice._sandbox import Protections, check_host
from splice.cli._common import JsonOption, ProjectOption, fail, out, print_json
from splice.config import find_root
from splice.errors import ProjectError, SpliceError


def doctor(project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Check this host's script sandbox: namespaces, Landlock, seccomp, rlimits, uid drop.

    Each protection is tried for real in a throwaway process. Exits 1 when the project sets
    sandbox = "strict" and something is missing (a worker would refuse to start).
    """
    root = _root(project)
    try:
        report = check_host(root)
    except SpliceError as exc:
        fail(exc.message, exc.hint)
    if as_json:
        print_json({"project": str(root) if root else None, **report.to_dict()})
    else:
        _render(report, root)
    if report.mode == "strict":
        try:
            report.require_all()
        except SpliceError as exc:
            fail(exc.message, exc.hint)


def _root(project: Path | None) -> Path | None:
    try:
        return find_root(project)
    except ProjectError:
        if project is not None:
            raise
        return None


def _render(report: Protections, root: Path | None) -> None:
    table = Table("protection", "status", "what runs get / why it is missing", "fallback")
    for p in report.items:
        status = "[green]granted[/]" if p.granted else "[yellow]missing[/]"
        table.add_row(p.name, status, escape(p.detail), escape(p.fallback or "-"))
    out.print(table)
    where = f"project {root}" if root else "no project here: default settings"
    out.print(f'sandbox = "{report.mode}" ({where})', highlight=False)
    if report.mode == "off":
        out.print("runs are not hardened: the table shows what this host would grant", highlight=False)
    for fix in dict.fromkeys(p.fix for p in report.missing if p.fix):
        out.print(f"[dim]to fix:[/] {escape(fix)}", highlight=False)
