"""``splice connections add|update|list|show|test|delete``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from splice.cli._common import (
    JsonOption,
    ProjectOption,
    ServerOption,
    TokenOption,
    fail,
    out,
    parse_json,
    parse_pairs,
    print_json,
    run_async,
    with_reader,
    with_runtime,
)
from splice.errors import InvalidInput, SpliceError
from splice.runtime import Runtime

if TYPE_CHECKING:
    from splice.cli._common import Reader

app = typer.Typer(help="Customers' credentials for an integration.", no_args_is_help=True)

# no short flag for --credential: -c is --connection in every command that takes one
CredentialOption = Annotated[
    list[str] | None, typer.Option("--credential", help="NAME=VALUE (VALUE may be @file); repeat for each field.")
]
CredentialsJsonOption = Annotated[
    str | None, typer.Option("--credentials-json", help="All credentials as JSON, @file or - for stdin.")
]
ConfigOption = Annotated[list[str] | None, typer.Option("--config", help="Config var NAME=VALUE.")]
ConfigJsonOption = Annotated[str | None, typer.Option("--config-json", help="Config vars as JSON.")]
MetadataJsonOption = Annotated[str | None, typer.Option("--metadata-json", help="Free-form metadata as JSON.")]


@app.command("add")
def add(
    integration: Annotated[str, typer.Argument(help="Integration name, e.g. acme.")],
    connection_id: Annotated[str, typer.Argument(help="Your id for this connection, e.g. the customer's id.")],
    credential: CredentialOption = None,
    credentials_json: CredentialsJsonOption = None,
    config: ConfigOption = None,
    config_json: ConfigJsonOption = None,
    metadata_json: MetadataJsonOption = None,
    project: ProjectOption = None,
) -> None:
    """Store a new connection (credentials are encrypted at rest)."""
    credentials = _merge(
        parse_json(credentials_json, "credentials-json"), parse_pairs(credential, "credential"), "credentials-json"
    )
    config_vars = _merge(parse_json(config_json, "config-json"), parse_pairs(config, "config"), "config-json")
    metadata = parse_json(metadata_json, "metadata-json")

    async def work(rt: Runtime) -> None:
        conn = await rt.connections.add(integration, connection_id, credentials, config=config_vars, metadata=metadata)
        out.print(
            f"[green]added[/] connection [bold]{conn.id}[/] to {conn.integration} "
            f"(credentials: {', '.join(sorted(conn.credentials))})",
            highlight=False,
        )

    run_async(with_runtime(project, work))


def _merge(base: Any, pairs: dict[str, str], what: str) -> dict[str, Any]:
    if base is None:
        return dict(pairs)
    if not isinstance(base, dict):
        raise InvalidInput(f"--{what} must be a JSON object")
    return {**base, **pairs}


@app.command("update")
def update(
    integration: Annotated[str, typer.Argument(help="Integration name, e.g. acme.")],
    connection_id: Annotated[str, typer.Argument(help="The connection's id.")],
    credential: CredentialOption = None,
    credentials_json: CredentialsJsonOption = None,
    config: ConfigOption = None,
    config_json: ConfigJsonOption = None,
    metadata_json: MetadataJsonOption = None,
    project: ProjectOption = None,
) -> None:
    """Replace a connection's credentials (all fields), config or metadata, then test it.

    New credentials clear a broken connection's error status. A failed test leaves the new
    values stored, and says so.
    """
    credentials = _given(credentials_json, "credentials-json", credential, "credential")
    config_vars = _given(config_json, "config-json", config, "config")
    metadata = parse_json(metadata_json, "metadata-json")
    changes = {"credentials": credentials, "config": config_vars, "metadata": metadata}
    changed = " and ".join(name for name, value in changes.items() if value is not None)
    if not changed:
        fail("nothing to update", "pass --credential NAME=VALUE (or --credentials-json), --config or --metadata-json")

    async def work(rt: Runtime) -> None:
        conn = await rt.connections.update(
            integration, connection_id, credentials=credentials, config=config_vars, metadata=metadata
        )
        out.print(f"[green]updated[/] {changed} of connection [bold]{escape(conn.id)}[/] of {conn.integration}")
        try:
            result = await rt.connections.test(integration, connection_id)
        except SpliceError as exc:
            result = {"ok": False, "checked": f"[{exc.code}] {exc.message}"}
        if not result["ok"]:
            status = (await rt.connections.get(integration, connection_id)).status
            fail(
                f"connection {connection_id} was updated, but its test failed: {result['checked']}",
                f"the new {changed} are stored (status: {status}); correct them with "
                f"`splice connections update {integration} {connection_id} …`, or run "
                f"`splice connections test {integration} {connection_id}` once the API answers",
            )
        out.print(f"[green]tested ok[/] {escape(result['checked'])}", highlight=False)

    run_async(with_runtime(project, work))


def _given(text: str | None, json_option: str, pairs: list[str] | None, pair_option: str) -> dict[str, Any] | None:
    """``--X-json`` merged with ``--X NAME=VALUE`` pairs; ``None`` when neither was given (nothing changes)."""
    if text is None and not pairs:
        return None
    return _merge(parse_json(text, json_option), parse_pairs(pairs, pair_option), json_option)


@app.command("list")
def list_(
    integration: Annotated[str | None, typer.Argument(help="Only this integration.")] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """List connections (never their credentials)."""

    async def work(rt: Reader) -> None:
        conns = await rt.connections.list(integration)
        if as_json:
            print_json([c.public() for c in conns])
            return
        table = Table("integration", "id", "status", "credentials", "created")
        for c in conns:
            status = "[green]ok[/]" if c.status == "ok" else f"[red]{c.status}[/]"
            table.add_row(
                c.integration, c.id, status, ", ".join(sorted(c.credentials)), f"{c.created_at:%Y-%m-%d %H:%M}"
            )
        out.print(table if conns else "no connections yet — add one with `splice connections add`")

    run_async(with_reader(project, server, token, work))


@app.command("show")
def show(
    integration: str,
    connection_id: str,
    project: ProjectOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Show one connection: config, metadata, status; credential names only."""

    async def work(rt: Reader) -> None:
        print_json((await rt.connections.get(integration, connection_id)).public())

    run_async(with_reader(project, server, token, work))


@app.command("test")
def test(integration: str, connection_id: str, project: ProjectOption = None) -> None:
    """Check that the credentials work (refresh, then the integration's test call)."""

    async def work(rt: Runtime) -> None:
        result = await rt.connections.test(integration, connection_id)
        if not result["ok"]:
            fail(f"the test of connection {connection_id} failed: {result['checked']}")
        out.print(f"[green]ok[/] {escape(result['checked'])}", highlight=False)

    run_async(with_runtime(project, work))


@app.command("delete")
def delete(
    integration: str,
    connection_id: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    project: ProjectOption = None,
) -> None:
    """Delete a connection, its credentials and its state."""
    if not yes:
        typer.confirm(f"delete connection {connection_id} of {integration}?", abort=True)

    async def work(rt: Runtime) -> None:
        await rt.connections.delete(integration, connection_id)
        out.print(f"deleted connection [bold]{connection_id}[/] of {integration}")

    run_async(with_runtime(project, work))
