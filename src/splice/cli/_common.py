"""What every CLI command shares: the project option, running async code, parsing, errors.

How a command loads the project: :func:`with_runtime` opens it leniently unless the command
says ``load="strict"``. A command that runs scripts (``run``, ``syncs trigger``; ``serve``,
``worker`` and ``demo`` open their runtime strictly themselves) needs every module and fails,
naming the file and line, when one does not import. Every other command works with what
imported and says on stderr, in one warning line, which module failed, so a syntax error does
not lock anyone out of ``splice logs``, ``runs``, ``connections``, ``env`` or ``records``.
A command that runs a script on a lenient runtime anyway is refused by the runner with that
same error.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from splice.errors import InvalidInput, SpliceError
from splice.runtime import LoadMode, Runtime

if TYPE_CHECKING:
    from splice.cli._remote import RemoteRuntime

    #: what a read command works on: the local project, or a server (``--server``)
    Reader = Runtime | RemoteRuntime

T = TypeVar("T")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ProjectOption = Annotated[
    Path | None,
    typer.Option("--project", "-p", help="Project folder (default: nearest splice.toml).", envvar="SPLICE_PROJECT"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        metavar="URL",
        help="Read from a running `splice serve` at URL instead of the local project (which is then ignored).",
        envvar="SPLICE_SERVER",
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        metavar="TOKEN",
        help="Access token for --server, from `splice tokens create`. Prefer setting SPLICE_TOKEN: "
        "a token on the command line is visible to other users in `ps` and stays in shell history.",
        envvar="SPLICE_TOKEN",
    ),
]


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro``; a SpliceError becomes one clear line plus a hint, and exit code 1."""
    try:
        return asyncio.run(coro)
    except SpliceError as exc:
        fail(exc.message, exc.hint)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None


def fail(message: str, hint: str | None = None, code: int = 1) -> Any:
    """Print the error and hint, then leave with ``code`` (inside a typer command)."""
    _print_error(message, hint)
    raise typer.Exit(code)


def report(message: str, hint: str | None = None, code: int = 1) -> None:
    """The same, outside typer's handling (the console-script entry point)."""
    _print_error(message, hint)
    sys.exit(code)


def _print_error(message: str, hint: str | None) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    if hint:
        err.print(f"[dim]hint:[/] {escape(hint)}", highlight=False)
    if os.environ.get("SPLICE_DEBUG"):
        traceback.print_exc()


async def with_runtime(
    project: Path | None, work: Callable[[Runtime], Awaitable[T]], *, load: LoadMode = "lenient", **options: Any
) -> T:
    """Open the project's runtime, do ``work``, close it. ``load="strict"`` for commands that run
    scripts; the others load leniently and warn (one line) about modules that failed."""
    runtime = await Runtime.open(project, load=load, **options)
    warn_load_errors(runtime)
    try:
        return await work(runtime)
    finally:
        await runtime.close()


async def with_reader(
    project: Path | None, server: str | None, token: str | None, work: Callable[[Reader], Awaitable[T]]
) -> T:
    """:func:`with_runtime` for the read commands: a :class:`RemoteRuntime` when ``server`` is given."""
    if not server:
        return await with_runtime(project, work)
    from splice.cli._remote import RemoteRuntime  # aiohttp is imported only when needed

    remote = RemoteRuntime(server, token)
    try:
        return await work(remote)
    finally:
        await remote.close()


def warn_load_errors(runtime: Runtime) -> None:
    """One line on stderr naming the modules that did not import (a lenient load)."""
    failed = runtime.project.load_errors
    if failed:
        what = " ".join("; ".join(error.message for error in failed).split())  # one line, whatever the messages hold
        err.print(
            f"[yellow]warning:[/] {escape(what)} — showing what the other modules define; "
            "commands that run scripts fail until it is fixed",
            highlight=False,
        )


def parse_pairs(pairs: list[str] | None, what: str) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` → ``{"a": "1", "b": "x=y"}``; ``@file`` reads a value from a file."""
    result: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InvalidInput(f"{what} {pair!r} is not NAME=VALUE", hint=f"write it as --{what} name=value")
        if value.startswith("@"):
            value = _read_file(value[1:], what).rstrip("\n")
        result[name.strip()] = value
    return result


def parse_json(text: str | None, what: str) -> Any:
    """JSON from an option: inline, ``@path`` for a file, or ``-`` for stdin."""
    if text is None:
        return None
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        text = _read_file(text[1:], what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"--{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            hint=f"""quote it for the shell: --{what} '{{"name": "value"}}' or pass @file.json""",
        ) from None


def _read_file(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {what} file {path!r}: {exc.strerror}") from None


def print_json(value: Any, *, line: bool = False) -> None:
    """Pretty JSON, or one compact line (JSON Lines); flushed so pipes see it at once."""
    option = 0 if line else orjson.OPT_INDENT_2
    sys.stdout.write(orjson.dumps(value, option=option, default=str).decode() + "\n")
    sys.stdout.flush()
