"""``splice deploy``: upload the project to a server as a new version, list versions, roll back.

The project is loaded here first (every module must import), so code that cannot run is
refused on the developer's machine rather than by every worker; then it is packed
(:func:`splice.deploy.pack`) and sent to ``POST /deploys`` with a token that may deploy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from splice.cli._common import JsonOption, ProjectOption, TokenOption, err, out, print_json, run_async
from splice.deploy import check_archive, pack
from splice.errors import InvalidInput
from splice.project import load_project

DeployServerOption = Annotated[
    str | None,
    typer.Option("--server", metavar="URL", help="The `splice serve` to deploy to.", envvar="SPLICE_SERVER"),
]


def deploy(
    version: Annotated[
        int | None, typer.Argument(metavar="[N]", help="With --rollback: the version to run again.", min=1)
    ] = None,
    server: DeployServerOption = None,
    token: TokenOption = None,
    message: Annotated[str | None, typer.Option("--message", "-m", help="What changed, shown in --list.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the deployed versions, newest (current) first.")] = False,
    rollback: Annotated[
        bool, typer.Option("--rollback", help="Run version N again (default: the one before the current).")
    ] = False,
    as_json: JsonOption = False,
    project: ProjectOption = None,
) -> None:
    """Deploy the project to a server: new runs use the new version, running ones finish on theirs."""
    if not server:
        raise InvalidInput("splice deploy needs the server to deploy to", hint="pass --server URL or set SPLICE_SERVER")
    if list_ and rollback:
        raise InvalidInput("--list and --rollback do not go together", hint="pass one of them")
    if version is not None and not rollback:
        raise InvalidInput(f"a version number ({version}) only goes with --rollback", hint=f"--rollback {version}")
    if list_:
        run_async(_call(server, token, lambda rt: rt.deploys.list(), lambda rows: _table(rows, as_json)))
    elif rollback:
        run_async(_call(server, token, lambda rt: rt.deploys.rollback(version), lambda v: _done(v, as_json)))
    else:
        archive = _packed(project)
        run_async(_call(server, token, lambda rt: rt.deploys.create(archive, message), lambda v: _done(v, as_json)))


def _packed(project: Path | None) -> bytes:
    loaded = load_project(project)
    archive = pack(loaded.root, loaded.config.project.package)
    info = check_archive(archive)
    err.print(f"packed {loaded.root} ({len(info.files)} files, {_size(len(archive))})", highlight=False)
    return archive


async def _call(server: str, token: str | None, call: Any, show: Any) -> None:
    from splice.cli._remote import RemoteRuntime  # aiohttp is imported only when needed

    remote = RemoteRuntime(server, token)
    try:
        show(await call(remote))
    finally:
        await remote.close()


def _done(version: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(version)
        return
    if version["unchanged"]:
        out.print(f"unchanged: version {version['number']} is current and has this very code", highlight=False)
        return
    what = f" (the code of version {version['rollback_of']})" if version["rollback_of"] else ""
    out.print(
        f"version {version['number']}{what} is current: new runs use it; runs going finish on their version",
        highlight=False,
    )


def _table(versions: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print_json(versions)
        return
    if not versions:
        out.print("nothing deployed yet — deploy with `splice deploy --server URL`")
        return
    table = Table()
    for column in ("version", "deployed", "by", "message", "digest", "size"):
        table.add_column(column, overflow="fold")
    for v in versions:
        number = f"{v['number']} (current)" if v["current"] else str(v["number"])
        table.add_row(number, f"{v['created_at']:%Y-%m-%d %H:%M}", escape(v["created_by"] or "-"),
                      escape(v["message"] or "-"), v["digest"][:12], _size(v["size"]))  # fmt: skip
    out.print(table)


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"
