"""The ``splice`` command: parse, call the Python API, render (STYLE 11)."""

from __future__ import annotations

import typer

from splice.cli import _connections, _env
from splice.cli._demo import demo
from splice.cli._init import init
from splice.cli._keys import app as keys_app
from splice.cli._logs import logs
from splice.cli._run import run

app = typer.Typer(
    name="splice",
    help="splice: run integration scripts in the context of your customers' connections.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(init)
app.command()(demo)
app.command()(run)
app.command()(logs)
app.add_typer(_connections.app, name="connections")
app.add_typer(_env.app, name="env")
app.add_typer(keys_app, name="keys")


def main() -> None:
    app()


__all__ = ["app", "main"]
