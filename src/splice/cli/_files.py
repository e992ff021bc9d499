"""``splice files``: file definitions — list them, and parse or generate a file with one.

``splice files parse acme.orders_csv orders.csv`` prints each record as a JSON line as the file
is read (a large file streams: memory stays bounded by a record); ``splice files generate
acme.orders_csv records.jsonl -o orders.csv`` writes the file the records make. A definition is
named by its id (declared in code or created over the API) or given as a JSON document file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from splice.cli._common import JsonOption, ProjectOption, err, out, print_json, run_async, with_runtime
from splice.cli._render import table
from splice.cli._transfers import read_records
from splice.errors import InvalidInput, NotFound
from splice.files import file_definition
from splice.resources import FileDefinition
from splice.runtime import Runtime

app = typer.Typer(help="File definitions: delimited, fixed-width and X12 files, parsed and generated.",
                  no_args_is_help=True)  # fmt: skip
Definition = Annotated[
    str, typer.Argument(metavar="DEF", help="A file definition's id (acme.orders_csv) or a JSON document file.")
]


@app.command("list")
def list_definitions(as_json: JsonOption = False, project: ProjectOption = None) -> None:
    """Every file definition: declared in the project's code or created over the API."""

    async def work(rt: Runtime) -> None:
        documents = await rt.file_definitions.find()
        if as_json:
            print_json(documents)
        elif not documents:
            out.print("no file definitions: declare one with integration.file_definition(...) or POST "
                      "/file_definitions", highlight=False)  # fmt: skip
        else:
            rows = [[d["id"], d["source"], d["format"]] for d in documents]
            out.print(table(out, ["file definition", "source", "format"], rows, names=1))

    run_async(with_runtime(project, work))


@app.command("parse")
def parse(
    definition: Definition,
    file: Annotated[Path, typer.Argument(help="The file to read.")],
    project: ProjectOption = None,
) -> None:
    """Print the file's records as JSON Lines, read as it streams; a file that does not fit its
    definition stops at the line (or X12 segment) that does not, naming it."""

    async def work(rt: Runtime | None) -> int:
        found = await _definition(rt, definition)
        count = 0
        try:
            stream = file.open("rb")
        except OSError as exc:
            raise InvalidInput(f"cannot read {str(file)!r}: {exc.strerror}") from None
        with stream:
            for record in found.iter_parse(stream):
                sys.stdout.write(orjson.dumps(record).decode() + "\n")
                count += 1
        err.print(f"{count:,} records", highlight=False)
        return 0

    raise typer.Exit(run_async(_with(definition, project, work)))


@app.command("generate")
def generate(
    definition: Definition,
    records: Annotated[Path, typer.Argument(help="The records: a JSON list, or JSON Lines.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).")] = None,
    project: ProjectOption = None,
) -> None:
    """Write the file the records make (the reverse of parse: parse, then generate, gives the file back)."""

    async def work(rt: Runtime | None) -> int:
        found = await _definition(rt, definition)
        data = found.generate(read_records(records))
        if output is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            output.write_bytes(data)
            err.print(f"wrote {len(data):,} bytes to {output}", highlight=False)
        return 0

    raise typer.Exit(run_async(_with(definition, project, work)))


async def _with(definition: str, project: Path | None, work: Any) -> int:
    """A document file needs no project; an id is looked up in it."""
    if _is_document(definition):
        return int(await work(None))
    return int(await with_runtime(project, work))


def _is_document(definition: str) -> bool:
    return definition.endswith(".json") and Path(definition).is_file()


async def _definition(rt: Runtime | None, definition: str) -> FileDefinition:
    if rt is None:
        try:
            document = orjson.loads(Path(definition).read_bytes())
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"{definition} is not JSON: {exc}") from None
        if not isinstance(document, dict):
            raise InvalidInput(f"{definition} holds a JSON {type(document).__name__}, not a file definition object")
        rules = file_definition({k: v for k, v in document.items() if k not in ("name", "integration", "external_id")})
        return FileDefinition(name=Path(definition).stem, integration="-", rules=rules)
    try:
        document = await rt.file_definitions.get(definition)
    except NotFound:
        raise NotFound(f"file definition {definition!r} not found",
                       hint="`splice files list` lists them; an id is integration.name, or give a .json "
                            "document file") from None  # fmt: skip
    return FileDefinition.from_json({k: v for k, v in document.items()
                                     if k not in ("id", "source", "created_at", "updated_at")})  # fmt: skip
