"""``splice records``: page through a connection's synced records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from splice.cli._common import ProjectOption, ServerOption, TokenOption, print_json, run_async, with_reader
from splice.cli._logs import parse_since
from splice.errors import InvalidInput

if TYPE_CHECKING:
    from splice.cli._common import Reader

FILTERS = {"added", "updated", "deleted"}


def records(
    integration: Annotated[str, typer.Argument(help="Integration name, e.g. acme.")],
    model: Annotated[str, typer.Argument(help="Model name, e.g. Contact.")],
    connection: Annotated[str, typer.Option("--connection", "-c", help="Connection id.")],
    cursor: Annotated[
        str | None, typer.Option("--cursor", help="Continue after this cursor (from next_cursor).")
    ] = None,
    modified_after: Annotated[
        str | None, typer.Option("--modified-after", help="ISO time or a duration like 15m, 2h, 1d.")
    ] = None,
    filter: Annotated[str | None, typer.Option("--filter", help="Comma-separated: added,updated,deleted.")] = None,
    ids: Annotated[str | None, typer.Option("--ids", help="Comma-separated record ids.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10000, help="Records per page.")] = 100,
    project: ProjectOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Print one page of records as JSON: {"records": [...], "next_cursor": ...}."""
    wanted = _filters(filter)
    since = parse_since(modified_after, "--modified-after")

    async def work(rt: Reader) -> None:
        page = await rt.records.read(
            integration,
            model,
            connection=connection,
            cursor=cursor,
            modified_after=since,
            filter=wanted,
            ids=ids.split(",") if ids else None,
            limit=limit,
        )
        print_json({"records": page.records, "next_cursor": page.next_cursor})

    run_async(with_reader(project, server, token, work))


def _filters(text: str | None) -> set[str] | None:
    if text is None:
        return None
    chosen = {part.strip().lower() for part in text.split(",") if part.strip()}
    unknown = chosen - FILTERS
    if unknown or not chosen:
        raise InvalidInput(
            f"--filter {text!r} is not a list of added, updated, deleted", hint="e.g. --filter updated,deleted"
        )
    return chosen
