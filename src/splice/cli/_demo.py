"""``splice demo``: the whole core loop, end to end, against the bundled demo API."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from splice.cli._common import err, out, run_async


def demo(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where the demo project goes (default: a new temp folder).")
    ] = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Demo API port (0 picks a free one).")] = 0,
    in_process: Annotated[
        bool, typer.Option("--in-process", help="Run scripts in-process instead of child processes.")
    ] = False,
) -> None:
    """Start the demo API, connect with every auth scheme, run actions and syncs, show what happened."""
    from splice.demo.run import run_demo
    from splice.demo.server import DemoAPI

    target = directory or Path(tempfile.mkdtemp(prefix="splice-demo-"))
    if (target / "splice.toml").exists():
        shutil.rmtree(target / ".splice", ignore_errors=True)
    else:
        with resources.as_file(resources.files("splice.demo") / "project") as source:
            shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    api = DemoAPI(contacts=250)
    url = api.start_in_thread(port=port)
    err.print(f"demo API listening on [bold]{url}[/]; project in [bold]{target}[/]", highlight=False)
    try:
        failures = run_async(run_demo(target, url, out, isolation="none" if in_process else "process"))
    finally:
        api.stop_thread()
    command = "splice" if shutil.which("splice") else _shortest(sys.argv[0])
    out.print(
        f"\nexplore it: [bold]{command} logs -p {target}[/] · [bold]{command} syncs list -p {target}[/] · "
        f"[bold]{command} records acme Contact -c c1 -p {target}[/]",
        highlight=False,
    )
    raise typer.Exit(1 if failures else 0)


def _shortest(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
