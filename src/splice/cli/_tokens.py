"""``splice tokens create|list|revoke``: bearer tokens for the REST API.

``create`` writes only the secret to stdout, so ``TOKEN=$(splice tokens create ci)`` captures
it and nothing else; everything meant for people goes to stderr. The secret is never shown
again: only its hash is stored.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from splice.cli._common import JsonOption, ProjectOption, err, out, print_json, run_async, with_runtime
from splice.runtime import Runtime
from splice.store import AccessToken, TokenScope

app = typer.Typer(help="Access tokens for the REST API (secrets shown once).", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who or what uses it, e.g. ci-deploy.")],
    read_only: Annotated[bool, typer.Option("--read-only", help="Allow reads only.")] = False,
    integration: Annotated[
        list[str] | None, typer.Option("--integration", "-i", help="Only this integration (repeatable).")
    ] = None,
    connection: Annotated[
        list[str] | None, typer.Option("--connection", "-c", help="Only this connection id (repeatable).")
    ] = None,
    deploy: Annotated[
        bool, typer.Option("--deploy", help="May also deploy the project's code and roll it back (splice deploy).")
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Create a token; prints its secret (once) on stdout."""

    async def work(rt: Runtime) -> None:
        scope = TokenScope(read_only=read_only, integrations=integration or None, connections=connection or None,
                           deploy=deploy)  # fmt: skip
        token, secret = await rt.tokens.create(name, scope)
        sys.stdout.write(secret + "\n")
        sys.stdout.flush()
        err.print(
            f"created token [bold]{token.id}[/] ({escape(token.name)}; {escape(scope.description)}); "
            "copy the secret now: it will not be shown again",
            highlight=False,
        )

    run_async(with_runtime(project, work))


@app.command("list")
def list_(
    include_revoked: Annotated[bool, typer.Option("--all", "-a", help="Include revoked tokens.")] = False,
    as_json: JsonOption = False,
    project: ProjectOption = None,
) -> None:
    """List tokens: id, name, the secret's first characters, scope and use (never the secret)."""

    async def work(rt: Runtime) -> None:
        tokens = await rt.tokens.list(include_revoked=include_revoked)
        if as_json:
            print_json([token.to_dict() for token in tokens])
            return
        if not tokens:
            out.print("no access tokens yet — create one with `splice tokens create NAME`")
            return
        table = Table()
        for column in ("id", "name", "prefix", "scope", "created", "last used", "revoked"):
            table.add_column(column, no_wrap=column == "id", overflow="fold")  # `revoke` needs the whole id
        for token in tokens:
            table.add_row(*_cells(token))
        out.print(table)

    run_async(with_runtime(project, work))


def _when(value: datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M}"


def _cells(token: AccessToken) -> list[str]:
    return [
        token.id,
        escape(token.name),
        f"{token.prefix}…",
        escape(token.scope.description),
        _when(token.created_at),
        "never" if token.last_used_at is None else _when(token.last_used_at),
        _when(token.revoked_at),
    ]


@app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (tok_...), from `splice tokens list`.")],
    project: ProjectOption = None,
) -> None:
    """Revoke a token for good; requests using it are refused from now on."""

    async def work(rt: Runtime) -> None:
        before = await rt.tokens.get(token_id)
        token = await rt.tokens.revoke(token_id)
        if before.revoked_at is not None:
            out.print(f"token {token.id} ({escape(token.name)}) was already revoked on {_when(token.revoked_at)}")
        else:
            out.print(f"revoked token {token.id} ({escape(token.name)})", highlight=False)

    run_async(with_runtime(project, work))
