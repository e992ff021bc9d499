"""``splice exports`` and ``splice imports``: list and show them, run an export page by page,
send a file of records through an import (or only map them with ``--dry-run``).

Every page or batch is a run of its own (kind ``export`` / ``import``, in ``splice runs list``);
an import's failed records are kept as record errors of their run: ``splice runs errors RUN``
lists them and ``splice runs retry-errors RUN`` retries them alone.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape

from splice.cli._common import JsonOption, ProjectOption, err, fail, out, print_json, run_async, with_runtime
from splice.cli._render import table
from splice.errors import InvalidInput, NotFound
from splice.resources import poll_wait, waiting
from splice.runtime import Runtime
from splice.services.resources import Resources
from splice.services.transfers import MAX_RECORDS
from splice.store import short_id

exports_app = typer.Typer(
    help="Exports: read records from an API page by page (declared in code or created over the API).",
    no_args_is_help=True,
)
imports_app = typer.Typer(
    help="Imports: map records and send them to an API; failed records are kept to retry.", no_args_is_help=True
)
ConnectionOption = Annotated[str | None, typer.Option("--connection", "-c", help="The customer's connection id.")]
#: mapped records the --dry-run table shows (--json prints them all)
SHOWN_ROWS = 20
#: characters of a record or message a table cell shows
CELL = 80


# --- exports ---------------------------------------------------------------------------------


@exports_app.command("list")
def list_exports(as_json: JsonOption = False, project: ProjectOption = None) -> None:
    """Every export: declared in the project's code or created over the API."""
    run_async(with_runtime(project, lambda rt: _list(rt.exports, as_json, _export_row)))


@exports_app.command("show")
def show_export(
    export: Annotated[str, typer.Argument(help="integration.name, e.g. crm.contacts")],
    as_json: JsonOption = False,
    project: ProjectOption = None,
) -> None:
    """An export's document (what GET /exports/{id} returns)."""
    run_async(with_runtime(project, lambda rt: _show(rt.exports, export, as_json)))


@exports_app.command("run")
def run_export(
    export: Annotated[str, typer.Argument(help="integration.name, e.g. crm.contacts")],
    connection: ConnectionOption = None,
    page_size: Annotated[
        int | None,
        typer.Option("--page-size", min=1, help="Records a page for this run only (the stored export is unchanged)."),
    ] = None,
    pages: Annotated[int | None, typer.Option("--pages", min=1, help="Stop after this many pages.")] = None,
    start_date: Annotated[
        str | None, typer.Option("--start-date", metavar="ISO", help="A delta export's lower bound (ISO time).")
    ] = None,
    end_date: Annotated[
        str | None, typer.Option("--end-date", metavar="ISO", help="A delta export's upper bound (default: now).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print each record as one JSON line (JSON Lines); progress on stderr.")
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Run an export page after page (each page a run of its own), printing each page's records and errors.

    Exit code 1 when a page had errors, 0 otherwise.
    """
    progress = err if as_json else out

    async def work(rt: Runtime) -> int:
        target: str | dict[str, Any] = export
        document = await _get(rt.exports, export)
        if page_size is not None:
            target = {**document, "page_size": page_size}  # a virtual export: nothing stored changes
        state: dict[str, Any] | None = None
        count = records = errors = 0
        dates: dict[str, Any] = {"start_date": start_date, "end_date": end_date}
        while True:
            await asyncio.sleep(poll_wait(state))
            page = await rt.exports.run_virtual_with_paging(target, connection=connection,
                                                            paged_export_state=state, **dates)  # fmt: skip
            if waiting(page["paged_export_state"]):  # an async job submitted or polled: no records yet
                job = page["paged_export_state"]["async_job"]
                said = "submitted" if job["polls"] == 0 else f"running (poll {job['polls']})"
                progress.print(f"job {escape(job['job_id'])}: {said} (run {short_id(page['run_id'])})",
                               highlight=False)  # fmt: skip
                state, dates = page["paged_export_state"], {}
                continue
            for record in page["data"] if as_json else []:
                print_json(record, line=True)
            progress.print(f"page {count}: {len(page['data']):,} records, {len(page['errors']):,} errors "
                           f"(run {short_id(page['run_id'])})", highlight=False)  # fmt: skip
            for error in page["errors"]:
                err.print(f"  [red]error[/] [{escape(str(error.get('code')))}] {escape(str(error.get('message')))}",
                          highlight=False)  # fmt: skip
            count, records, errors = count + 1, records + len(page["data"]), errors + len(page["errors"])
            state, dates = page["paged_export_state"], {}
            if state is None or (pages is not None and count >= pages):
                break
        more = f" (stopped after --pages {pages}; more pages remain)" if state is not None else ""
        progress.print(f"total: {records:,} records, {errors:,} errors in {_n(count, 'page')}{more}", highlight=False)
        return 1 if errors else 0

    raise typer.Exit(run_async(with_runtime(project, work)))


def _export_row(doc: dict[str, Any]) -> list[str]:
    paging = (doc.get("paging") or {}).get("method") or "—"
    return [doc["id"], doc.get("source", ""), doc["integration"], doc.get("path", ""), paging]


# --- imports ---------------------------------------------------------------------------------


@imports_app.command("list")
def list_imports(as_json: JsonOption = False, project: ProjectOption = None) -> None:
    """Every import: declared in the project's code or created over the API."""
    run_async(with_runtime(project, lambda rt: _list(rt.imports, as_json, _import_row)))


@imports_app.command("show")
def show_import(
    import_: Annotated[str, typer.Argument(metavar="IMPORT", help="integration.name, e.g. erp.contacts")],
    as_json: JsonOption = False,
    project: ProjectOption = None,
) -> None:
    """An import's document (what GET /imports/{id} returns)."""
    run_async(with_runtime(project, lambda rt: _show(rt.imports, import_, as_json)))


@imports_app.command("run")
def run_import(
    import_: Annotated[str, typer.Argument(metavar="IMPORT", help="integration.name, e.g. erp.contacts")],
    file: Annotated[
        Path, typer.Option("--file", "-f", help="The records: a JSON list, or JSON Lines (one record a line).")
    ],
    connection: ConnectionOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only map the records and print them; nothing is sent.")
    ] = False,
    batch: Annotated[
        int, typer.Option("--batch", help=f"Records a run (1 to {MAX_RECORDS:,}); each batch is a run of its own.")
    ] = 1000,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print each record's result as one JSON line; progress on stderr.")
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Send a file of records through an import, in batches; print each batch's outcome and each
    failed record's error id (retry them with `splice runs retry-errors RUN`).

    Exit code 1 when any record failed (or was refused by the mapping with --dry-run), 0 otherwise.
    """
    if not 1 <= batch <= MAX_RECORDS:
        fail(f"--batch must be from 1 to {MAX_RECORDS:,}, not {batch}", f"one import run takes at most "
             f"{MAX_RECORDS:,} records; the default is 1,000", code=2)  # fmt: skip
    records = read_records(file)
    batches = [records[start : start + batch] for start in range(0, len(records), batch)]

    async def work(rt: Runtime) -> int:
        await _get(rt.imports, import_)
        if dry_run:
            return await _dry_run(rt, import_, batches, connection, as_json)
        failed = 0
        for index, chunk in enumerate(batches):
            sent = await rt.imports.run(import_, chunk, connection=connection)
            failed += await report_batch(rt, f"batch {index}", sent, as_json)
        progress = err if as_json else out
        progress.print(f"total: {len(records):,} records in {_n(len(batches), 'batch')}, {failed:,} failed",
                       highlight=False)  # fmt: skip
        return 1 if failed else 0

    raise typer.Exit(run_async(with_runtime(project, work)))


async def _dry_run(
    rt: Runtime, import_: str, batches: list[list[Any]], connection: str | None, as_json: bool
) -> int:  # fmt: skip
    mapped: list[dict[str, Any]] = []
    for records in batches:
        mapped += await rt.imports.run_mapping(import_, records, connection=connection)
    refused = sum(1 for result in mapped if result.get("errors"))
    if as_json:
        for result in mapped:
            print_json(result, line=True)
    else:
        rows = [[str(index), str(result.get("status_code")), _cell(_compact(result.get("data"))),
                 _cell("; ".join(str(e.get("message")) for e in result.get("errors") or []))]
                for index, result in enumerate(mapped[:SHOWN_ROWS])]  # fmt: skip
        out.print(table(out, ["#", "status", "mapped record", "errors"], rows, names=1))
        if len(mapped) > SHOWN_ROWS:
            out.print(f"… and {len(mapped) - SHOWN_ROWS:,} more (--json prints them all)", highlight=False)
    (err if as_json else out).print(
        f"dry run: {len(mapped):,} records mapped, {refused:,} refused by the mapping; nothing was sent",
        highlight=False,
    )
    return 1 if refused else 0


async def report_batch(rt: Runtime, label: str, sent: dict[str, Any], as_json: bool = False) -> int:
    """Print a batch's (or a retry run's) outcome and its failed records' errors; how many failed."""
    results = sent["results"]
    failed = sum(1 for r in results if r.get("errors"))
    ignored = sum(1 for r in results if r.get("ignored") and not r.get("errors"))
    progress = err if as_json else out
    progress.print(f"{label}: {len(results) - failed - ignored:,} ok, {failed:,} failed, {ignored:,} ignored "
                   f"(run {short_id(sent['run_id'])})", highlight=False)  # fmt: skip
    failed_results = [r for r in results if r.get("errors")]
    ids = sent["errors"] if len(sent["errors"]) == len(failed_results) else []
    if as_json:
        error_ids = iter(ids)
        for result in results:
            error_id = next(error_ids, None) if result.get("errors") and ids else None
            print_json({"run_id": sent["run_id"], **result, "error_id": error_id}, line=True)
    if sent["errors"]:
        for error in await rt.runs.errors(sent["run_id"]):
            if error.id in sent["errors"]:
                progress.print(f"  {error.id} ({error.stage}) [{escape(error.code)}] {escape(error.message)}",
                               highlight=False)  # fmt: skip
        err.print(f"[dim]hint:[/] retry them with `splice runs retry-errors {short_id(sent['run_id'])}` "
                  "(--data-file to edit their data first)", highlight=False)  # fmt: skip
    return failed


def _import_row(doc: dict[str, Any]) -> list[str]:
    mapping = doc.get("mapping") or {}
    fields = len(mapping.get("fields") or []) if isinstance(mapping, dict) else 0
    return [doc["id"], doc.get("source", ""), doc["integration"], f"{doc.get('method', 'POST')} {doc.get('path', '')}",
            f"{fields} fields" if mapping else "—"]  # fmt: skip


def read_records(file: Path) -> list[Any]:
    """A JSON list of records, or JSON Lines; an error names the file and the line."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read records file {str(file)!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"records file {str(file)!r} is not UTF-8 text", hint=_FORMS) from None
    if file.suffix.lower() not in (".jsonl", ".ndjson"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":  # several values: read it as JSON Lines below
                raise InvalidInput(f"{file}: line {exc.lineno} column {exc.colno} is not JSON: {exc.msg}",
                                   hint=_FORMS) from None  # fmt: skip
        else:
            if not isinstance(data, list):
                raise InvalidInput(f"{file} holds a JSON {type(data).__name__}, not a list of records", hint=_FORMS)
            return data
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{file}: line {number} is not JSON: {exc.msg} (column {exc.colno})",
                                   hint=_FORMS) from None  # fmt: skip
    return records


_FORMS = "give a JSON list of records ([{...}, {...}]) or JSON Lines (one record a line, in a .jsonl file)"


# --- shared ----------------------------------------------------------------------------------


async def _list(resources: Resources, as_json: bool, row: Any) -> None:
    documents = await resources.find()
    kind = resources.type.name
    if as_json:
        print_json(documents)
    elif not documents:
        declare = "integration.export(...)" if kind == "exports" else "integration.import_(...)"
        out.print(f"no {kind}: declare one with {declare} or POST /{kind}", highlight=False)
    else:
        last = ["paging"] if kind == "exports" else ["mapping"]
        headers = [kind.removesuffix("s"), "source", "integration", "path", *last]
        out.print(table(out, headers, [row(doc) for doc in documents], names=1))


async def _show(resources: Resources, id: str, as_json: bool) -> None:
    document = await _get(resources, id)
    if as_json:
        print_json(document)
        return
    for name, value in document.items():
        if value not in (None, {}, [], ()):
            shown = value if isinstance(value, str) else _compact(value)
            out.print(f"[bold]{name:<16}[/]{escape(shown)}", highlight=False)


async def _get(resources: Resources, id: str) -> dict[str, Any]:
    """The document ``id`` names; not found says how to list them here (not over HTTP)."""
    kind = resources.type.name
    try:
        return await resources.get(id)
    except NotFound as exc:
        if exc.details.get("id") != id:
            raise
        raise NotFound(f"{kind.removesuffix('s')} {id!r} not found", details=exc.details,
                       hint=f"`splice {kind} list` lists them; an id is integration.name") from None  # fmt: skip


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "es" if noun.endswith("ch") else "s")


def _compact(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _cell(text: str) -> str:
    return text if len(text) <= CELL else text[: CELL - 1] + "…"
