"""``splice lookups list|get|put|delete|purge``: lookup caches' entries (string keys and values).

``list`` and ``get`` also read from a running server (``--server`` / ``--token``), like the
other read commands; writes act on the local project.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from splice.cli._common import (
    JsonOption,
    ProjectOption,
    ServerOption,
    TokenOption,
    out,
    print_json,
    run_async,
    with_reader,
    with_runtime,
)
from splice.cli._render import table
from splice.errors import InvalidInput
from splice.runtime import Runtime
from splice.store._lookups import MAX_PUT_BYTES, MAX_PUT_ENTRIES

if TYPE_CHECKING:
    from splice.cli._common import Reader

app = typer.Typer(help="Lookup caches: string keys and values your scripts and flows look up.", no_args_is_help=True)
CacheArg = Annotated[str, typer.Argument(help="integration.cache, e.g. acme.skus.")]


@app.command("list")
def list_(
    project: ProjectOption = None, as_json: JsonOption = False, server: ServerOption = None, token: TokenOption = None
) -> None:
    """Each lookup cache: entries and size."""

    async def work(rt: Reader) -> None:
        caches = await rt.lookups.list()
        if as_json:
            print_json(caches)
        elif not caches:
            out.print('no lookup caches — declare one with acme.lookup_cache("skus")')
        else:
            rows = [[c["id"], f"{c['entries']:,}", f"{c['bytes']:,}", c["description"]] for c in caches]
            out.print(table(out, ["cache", "entries", "bytes", "description"], rows, names=1))

    run_async(with_reader(project, server, token, work))


@app.command("get")
def get(
    cache: CacheArg,
    key: Annotated[list[str] | None, typer.Option("--key", "-k", help="Only this key (repeat for more).")] = None,
    starts_with: Annotated[str | None, typer.Option("--starts-with", help="Only keys starting with it.")] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Entries in key order (every page), as a table or JSON."""

    async def work(rt: Reader) -> None:
        entries: list[dict[str, str]] = []
        after: str | None = None
        while True:
            page = await rt.lookups.get_data(cache, keys=key or None, starts_with=starts_with, start_after_key=after)
            entries += page["data"]
            if page["next_page_url"] is None:
                break
            after = page["data"][-1]["key"]
        if as_json:
            print_json(entries)
        elif not entries:
            out.print(f"no entries in {cache}" + (" match" if key or starts_with else ""))
        else:
            out.print(table(out, ["key", "value"], [[e["key"], e["value"]] for e in entries], names=1))

    run_async(with_reader(project, server, token, work))


@app.command("put")
def put(
    cache: CacheArg,
    key: Annotated[str | None, typer.Argument(help="The key (or use --file).")] = None,
    value: Annotated[str | None, typer.Argument(help="The value, a string (JSON is stored as its text).")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help='A JSON file: [{"key": ..., "value": ...}] or {"key": "value", ...}.'),
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Store one entry, or every entry of --file (sent in batches of 1,000 entries or 5 MB)."""
    entries = _entries(key, value, file)

    async def work(rt: Runtime) -> None:
        results: list[dict[str, Any]] = []
        for batch in batches(entries):
            results += await rt.lookups.put_data(cache, batch)
        _report_put(cache, results)

    run_async(with_runtime(project, work))


@app.command("delete")
def delete(
    cache: CacheArg,
    keys: Annotated[list[str], typer.Argument(help="The keys to delete.")],
    project: ProjectOption = None,
) -> None:
    """Delete keys (a key that is not there is reported, not an error)."""

    async def work(rt: Runtime) -> None:
        results: list[dict[str, Any]] = []
        for start in range(0, len(keys), MAX_PUT_ENTRIES):
            results += await rt.lookups.delete_data(cache, keys[start : start + MAX_PUT_ENTRIES])
        gone = sum(r["deleted"] for r in results)
        missing = [r["key"] for r in results if not r["deleted"]]
        out.print(f"deleted {gone:,} of {len(results):,} keys from {cache}" + _not_there(missing))

    run_async(with_runtime(project, work))


@app.command("purge")
def purge(
    cache: CacheArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    project: ProjectOption = None,
) -> None:
    """Delete every entry of a cache."""
    if not yes:
        typer.confirm(f"delete every entry of {cache}?", abort=True)

    async def work(rt: Runtime) -> None:
        out.print(f"purged {await rt.lookups.purge_data(cache):,} entries from {cache}")

    run_async(with_runtime(project, work))


def batches(entries: list[Any], max_bytes: int = MAX_PUT_BYTES) -> list[list[Any]]:
    """``entries`` in puts of at most 1,000 entries and ``max_bytes`` of keys and values."""
    found: list[list[Any]] = [[]]
    size = 0
    for entry in entries:
        weight = _weight(entry)
        if found[-1] and (len(found[-1]) >= MAX_PUT_ENTRIES or size + weight > max_bytes):
            found.append([])
            size = 0
        found[-1].append(entry)
        size += weight
    return [batch for batch in found if batch]


def _weight(entry: Any) -> int:
    if not isinstance(entry, dict):
        return 0
    return sum(len(v.encode(errors="replace")) for v in (entry.get("key"), entry.get("value")) if isinstance(v, str))


def _entries(key: str | None, value: str | None, file: Path | None) -> list[Any]:
    if file is not None:
        if key is not None:
            raise typer.BadParameter("give KEY VALUE or --file, not both")
        return _read_entries(file)
    if key is None or value is None:
        raise typer.BadParameter("give KEY and VALUE, or --file entries.json")
    return [{"key": key, "value": value}]


def _read_entries(file: Path) -> list[Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read entries from {file}: {exc}") from None
    if isinstance(data, dict):
        return [{"key": k, "value": v} for k, v in data.items()]
    if not isinstance(data, list):
        raise InvalidInput(f'{file} must hold a JSON list of {{"key", "value"}} or an object of key → value')
    return data


def _report_put(cache: str, results: list[dict[str, Any]]) -> None:
    created = sum(r.get("status") == "created" for r in results)
    updated = sum(r.get("status") == "updated" for r in results)
    failed = [r for r in results if "error" in r]
    out.print(f"{cache}: {created:,} created, {updated:,} updated, {len(failed):,} failed")
    for result in failed:
        out.print(f"  {result['key']!r}: {result['error']['message']}", markup=False)
    if failed:
        raise typer.Exit(1)


def _not_there(missing: list[str]) -> str:
    if not missing:
        return ""
    shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
    return f" (not there: {shown})"
