"""The ``splice`` command: parse, call the Python API, render (STYLE 11)."""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated

import typer

from splice.cli import _connections, _env, _files, _flows, _lookups, _runs, _syncs, _tokens, _transfers
from splice.cli._common import report
from splice.cli._demo import demo
from splice.cli._deploy import deploy
from splice.cli._doctor import doctor
from splice.cli._init import init
from splice.cli._keys import app as keys_app
from splice.cli._logs import logs
from splice.cli._records import records
from splice.cli._run import run
from splice.cli._serve import serve, worker
from splice.cli._workers import workers
from splice.errors import SpliceError

app = typer.Typer(
    name="splice",
    help="splice: run integration scripts in the context of your customers' connections.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(show: bool) -> None:
    if show:
        typer.echo(f"splice {version('splice')}")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print splice's version and exit.")
    ] = False,
) -> None:
    """splice: run integration scripts in the context of your customers' connections."""


app.command()(init)
app.command()(demo)
app.command()(serve)
app.command()(worker)
app.command()(workers)
app.command()(run)
app.command()(logs)
app.command()(records)
app.command()(doctor)
app.command()(deploy)
app.add_typer(_connections.app, name="connections")
app.add_typer(_runs.app, name="runs")
app.add_typer(_env.app, name="env")
app.add_typer(_syncs.app, name="syncs")
app.add_typer(_flows.app, name="flows")
app.add_typer(_lookups.app, name="lookups")
app.add_typer(_transfers.exports_app, name="exports")
app.add_typer(_transfers.imports_app, name="imports")
app.add_typer(_files.app, name="files")
app.add_typer(_tokens.app, name="tokens")
app.add_typer(keys_app, name="keys")


def main() -> None:
    """Entry point: a SpliceError anywhere is one line plus a hint; anything else says how to see more."""
    try:
        app()
    except SpliceError as exc:
        report(exc.message, exc.hint)
    except Exception as exc:  # a bug: keep it to one line unless asked
        report(f"unexpected {type(exc).__name__}: {exc}", "set SPLICE_DEBUG=1 to see the traceback and report it")


__all__ = ["app", "main"]
