"""Running exports and imports over REST, and a run's record errors.

``POST /exports/{id}/run`` answers the export's first page (Celigo's ``exports.run``),
``POST /exports/run-virtual`` a page of an export given whole (with ``paged_export_state`` for
the next: pass back what the previous page answered). ``POST /imports/{id}/run`` and
``/imports/run-virtual`` answer one result per record; ``/imports/run-mapping`` maps without
sending. A record that failed is kept as a record error of its run: ``GET /runs/{id}/errors``
lists them, ``POST /runs/{id}/errors/retry`` retries them alone (``data`` edits their retry
data first). Each of these is a run (``GET /runs?kind=export``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from splice.server._auth import CallerDep, RuntimeDep
from splice.server._bodies import JsonBody
from splice.server._errors import ERROR_RESPONSES
from splice.server.routes.runs import scope_filters

router = APIRouter(responses=ERROR_RESPONSES)
ResourceId = Annotated[str, Path(min_length=3, max_length=255, description="integration.name, e.g. crm.contacts")]
Connection = Annotated[str | None, Field(default=None, max_length=128, description="the connection to run with")]


class ExportRun(JsonBody):
    connection_id: Connection
    start_date: str | None = Field(default=None, max_length=64, description="the delta window's start (ISO 8601)")
    end_date: str | None = Field(default=None, max_length=64, description="the delta window's end (ISO 8601)")
    data: Any = Field(default=None, description="what the export's templates see as data")
    settings: dict[str, Any] | None = Field(default=None, description="instead of the connection's config")
    paged_export_state: Any = Field(
        default=None, description="the previous page's paged_export_state (an object), as it came: the next page"
    )


class ExportVirtualRun(ExportRun):
    export: dict[str, Any] = Field(description="the export's whole document (not stored)")


class ExportPage(BaseModel):
    run_id: str
    data: list[Any]
    errors: list[dict[str, Any]]
    paged_export_state: Any = Field(description="pass it back for the next page; null: the last")
    page_index: int
    aborted: bool


class ImportRun(JsonBody):
    connection_id: Connection
    data: list[Any] = Field(description="the records", max_length=10_000)
    settings: dict[str, Any] | None = None


class ImportVirtualRun(ImportRun):
    import_: dict[str, Any] = Field(alias="import", description="the import's whole document (not stored)")


class MappingRun(JsonBody):
    connection_id: Connection
    data: list[Any] = Field(max_length=10_000)
    import_: dict[str, Any] | str = Field(alias="import", description="an import's id or whole document")


class ImportAnswer(BaseModel):
    run_id: str
    results: list[dict[str, Any]] = Field(description="one per record: status_code, id, data, _json, errors, ignored")
    errors: list[str] = Field(description="the ids of the record errors this run kept (GET /runs/{id}/errors)")


class RecordErrorOut(BaseModel):
    id: str
    run_id: str
    stage: str
    code: str
    message: str
    error: dict[str, Any]
    retry_data: Any
    status: Literal["open", "retried", "failed_again"]
    created_at: str
    retried_at: str | None


class ErrorsRetry(JsonBody):
    ids: list[str] | None = Field(default=None, description="some of the run's open errors (default: all)")
    data: dict[str, Any] = Field(default_factory=dict, description="error id → its edited retry data")


def _export_options(body: ExportRun) -> dict[str, Any]:
    return {"connection": body.connection_id, "start_date": body.start_date, "end_date": body.end_date,
            "data": body.data, "settings": body.settings, "paged_export_state": body.paged_export_state}  # fmt: skip


@router.post("/exports/run-virtual", tags=["exports"], summary="Run a page of an export given whole")
async def run_virtual_export(body: ExportVirtualRun, rt: RuntimeDep, caller: CallerDep) -> ExportPage:
    caller.check(str(body.export.get("integration") or ""), body.connection_id, write=True)
    return ExportPage(**await rt.exports.run_virtual_with_paging(body.export, **_export_options(body)))


@router.post("/exports/{id}/run", tags=["exports"], summary="Run an export: its first page, or the next")
async def run_export(id: ResourceId, body: ExportRun, rt: RuntimeDep, caller: CallerDep) -> ExportPage:
    caller.check(id.partition(".")[0], body.connection_id, write=True)
    return ExportPage(**await rt.exports.run_virtual_with_paging(id, **_export_options(body)))


@router.post("/imports/run-virtual", tags=["imports"], summary="Send records through an import given whole")
async def run_virtual_import(body: ImportVirtualRun, rt: RuntimeDep, caller: CallerDep) -> ImportAnswer:
    caller.check(str(body.import_.get("integration") or ""), body.connection_id, write=True)
    sent = await rt.imports.run_virtual(body.import_, body.data, connection=body.connection_id, settings=body.settings)
    return ImportAnswer(**sent)


@router.post("/imports/run-mapping", tags=["imports"], summary="Map records as an import would; nothing is sent")
async def run_import_mapping(body: MappingRun, rt: RuntimeDep, caller: CallerDep) -> list[dict[str, Any]]:
    owner = body.import_ if isinstance(body.import_, str) else str(body.import_.get("integration") or "")
    caller.check(owner.partition(".")[0], body.connection_id)
    return await rt.imports.run_mapping(body.import_, body.data, connection=body.connection_id)


@router.post("/imports/{id}/run", tags=["imports"], summary="Send records through an import")
async def run_import(id: ResourceId, body: ImportRun, rt: RuntimeDep, caller: CallerDep) -> ImportAnswer:
    caller.check(id.partition(".")[0], body.connection_id, write=True)
    return ImportAnswer(**await rt.imports.run(id, body.data, connection=body.connection_id, settings=body.settings))


@router.get("/runs/{run_id}/errors", tags=["runs"], summary="List the records a run could not process")
async def list_run_errors(
    run_id: str, rt: RuntimeDep, caller: CallerDep,
    status: Annotated[Literal["open", "retried", "failed_again"] | None, Query()] = None,
) -> list[RecordErrorOut]:  # fmt: skip
    run = await rt.runs.get(run_id, **scope_filters(caller))
    return [RecordErrorOut(**e.to_json()) for e in await rt.runs.errors(run.id, status=status)]


@router.post("/runs/{run_id}/errors/retry", tags=["runs"], summary="Retry a run's failed records alone")
async def retry_run_errors(run_id: str, body: ErrorsRetry, rt: RuntimeDep, caller: CallerDep) -> list[ImportAnswer]:
    run = await rt.runs.get(run_id, **scope_filters(caller))
    caller.check(run.integration, run.connection_id, write=True)
    return [ImportAnswer(**one) for one in await rt.imports.retry_errors(run.id, ids=body.ids, data=body.data)]
