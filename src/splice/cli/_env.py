"""``splice env set|list|unset``: operator variables scripts read as ``ctx.env``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from splice.cli._common import ProjectOption, out, run_async, with_runtime
from splice.runtime import Runtime

app = typer.Typer(help="Operator environment variables (encrypted; never logged).", no_args_is_help=True)


@app.command("set")
def set_(
    name: str,
    value: Annotated[str | None, typer.Argument(help="The value; omit to read it from stdin.")] = None,
    project: ProjectOption = None,
) -> None:
    """Set a variable (omit VALUE to read it from stdin, keeping it out of shell history)."""
    text = value if value is not None else sys.stdin.read().rstrip("\n")

    async def work(rt: Runtime) -> None:
        await rt.env.set(name, text)
        out.print(f"set {name}")

    run_async(with_runtime(project, work))


@app.command("list")
def list_(project: ProjectOption = None) -> None:
    """List variable names (values stay secret)."""

    async def work(rt: Runtime) -> None:
        names = await rt.env.names()
        out.print("\n".join(names) if names else "no variables set — use `splice env set NAME VALUE`")

    run_async(with_runtime(project, work))


@app.command("unset")
def unset(name: str, project: ProjectOption = None) -> None:
    """Remove a variable."""

    async def work(rt: Runtime) -> None:
        await rt.env.unset(name)
        out.print(f"unset {name}")

    run_async(with_runtime(project, work))
