"""``rt.exports`` and ``rt.imports``: Celigo's exports and imports — stored or declared, and run.

Both are :class:`~splice.services.resources.Resources` (find, get, create, update, patch,
delete) that can also run. A run is a run like any other (kind ``export`` or ``import``, in the
sandboxed child, in ``splice runs list``): one export page, or one batch of import records.

- ``rt.exports.run(id, connection=, start_date=, end_date=, data=, settings=)`` → the first page
  ``{run_id, data, errors, paged_export_state}``; ``run_virtual(document, ...)`` the same for a
  document that is not stored; ``run_virtual_with_paging(document_or_id, paged_export_state=)``
  one page — pass the state back as it is for the next (None after the last).
- ``rt.imports.run(id, data, connection=, settings=)`` → one result per record (Celigo's
  ``responseData``: ``{status_code, id, data, _json, errors, ignored}``); ``run_virtual``;
  ``run_mapping(document_or_id, data)`` maps without sending. A record that failed is stored
  as a record error of its run with its retry data (``rt.runs.errors(run_id)``), and
  ``retry_errors(run_id, ids=, data=)`` retries those records alone: each re-enters the
  pipeline at the stage it failed at, with its saved (or edited) data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from splice._runtime.resource_runs import attachments, record_error, resource_request, resource_script
from splice._runtime.runner import Runner
from splice._runtime.versions import Versions
from splice.errors import Conflict, InvalidInput, error_from_dict
from splice.resources import AsyncHelper, Export, FileDefinition, Import, poll_wait, waiting
from splice.services.resources import Declared, Resources
from splice.store import RunRecord, Store

#: most records one import run takes (a flow step or a retry sends more as several runs)
MAX_RECORDS = 10_000


#: the resource types without runs of their own
ASYNC_HELPERS = Declared("async_helpers", AsyncHelper.from_json)
FILE_DEFINITIONS = Declared("file_definitions", FileDefinition.from_json)


class _Runs(Resources):
    def __init__(self, type: Any, versions: Versions, store: Store, runner: Runner) -> None:
        super().__init__(type, versions, store)
        self.runner = runner

    async def resolve(self, resource: str | Mapping[str, Any]) -> Any:
        """An id names a stored or declared resource; a document is a virtual one (checked)."""
        return await self.value(resource) if isinstance(resource, str) else self._check(resource)

    async def execute(
        self,
        value: Any,
        kind: str,
        connection: str | None,
        input: dict[str, Any],
        shown: dict[str, Any],
        **options: Any,
    ) -> RunRecord:
        """One run of ``value``'s pipeline in the sandboxed child (``options``: RunRequest fields)."""
        script = resource_script(self.project.integration(value.integration), kind, value.name)
        conn = await self.runner.connection_for(script, connection)
        attached = await attachments(self.project, self.store, value)
        request = resource_request(script, value, conn, input, shown, attached=attached, **options)
        return await self.runner.run(request)


class Exports(_Runs):
    """``rt.exports``: declared and stored exports, and their runs (one page each)."""

    def __init__(self, versions: Versions, store: Store, runner: Runner) -> None:
        super().__init__(Declared("exports", Export.from_json), versions, store, runner)

    async def run(self, export: str, **options: Any) -> dict[str, Any]:
        """The first page of a stored or declared export: ``{run_id, data, errors, paged_export_state}``.

        With an async helper, the first page of the job's result: this waits while it runs."""
        return await self._first(export, options)

    async def run_virtual(self, document: Mapping[str, Any], **options: Any) -> dict[str, Any]:
        """The first page of an export given as a document (not stored)."""
        return await self._first(document, options)

    async def _first(self, export: str | Mapping[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        page = await self.run_virtual_with_paging(export, **options)
        while waiting(page["paged_export_state"]):
            await asyncio.sleep(poll_wait(page["paged_export_state"]))
            more = {k: v for k, v in options.items() if k not in ("paged_export_state", "start_date", "end_date")}
            page = await self.run_virtual_with_paging(export, paged_export_state=page["paged_export_state"], **more)
        return page

    async def run_virtual_with_paging(
        self,
        export: str | Mapping[str, Any],
        *,
        connection: str | None = None,
        paged_export_state: dict[str, Any] | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
        data: Any = None,
        settings: dict[str, Any] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """One page; pass ``paged_export_state`` back as it came for the next (None: the last).

        With an async helper, the submit and each status poll are pages without records; wait
        ``splice.resources.poll_wait(state)`` seconds before asking for the page after one."""
        value = await self.resolve(export)
        input = {"paged_export_state": paged_export_state, "start_date": start_date, "end_date": end_date,
                 "data": data, "settings": settings}  # fmt: skip
        shown = {"paged_export_state": paged_export_state, "start_date": start_date, "end_date": end_date}
        run = await self.execute(value, "export", connection, input, shown, **options)
        return {"run_id": run.id, **_output(run)}


class Imports(_Runs):
    """``rt.imports``: declared and stored imports, their runs, and retries of their record errors."""

    def __init__(self, versions: Versions, store: Store, runner: Runner) -> None:
        super().__init__(Declared("imports", Import.from_json), versions, store, runner)

    async def run(self, import_: str | Mapping[str, Any], data: list[Any], **options: Any) -> dict[str, Any]:
        """Send ``data`` through a stored or declared import (or a document): ``{run_id, results, errors}``."""
        return await self._send(await self.resolve(import_), data, **options)

    async def run_virtual(self, document: Mapping[str, Any], data: list[Any], **options: Any) -> dict[str, Any]:
        return await self._send(await self.resolve(document), data, **options)

    async def run_mapping(
        self, import_: str | Mapping[str, Any], data: list[Any], *, connection: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """The mapped records, ``[{status_code, data, errors}]``; nothing is sent."""
        value = await self.resolve(import_)
        _check_records(data)
        input = {"data": data, "settings": settings, "mapping_only": True}
        run = await self.execute(value, "import", connection, input, {"records": len(data), "mapping_only": True})
        return list(_output(run)["results"])

    async def _send(
        self, value: Import, data: Any, *, connection: str | None = None, settings: dict[str, Any] | None = None,
        stage: str | None = None, **options: Any,
    ) -> dict[str, Any]:  # fmt: skip
        _check_records(data)
        input = {"data": data, "settings": settings, "stage": stage}
        shown = {"records": len(data), "stage": stage}
        run = await self.execute(value, "import", connection, input, shown, **options)
        results = list(_output(run)["results"])
        errors = []
        for result in results:
            if result.get("retry_data") is not None:
                errors.append(record_error(result))
                result["error_id"] = errors[-1]["id"]
        await self.store.run_errors.add(run.id, errors)
        return {"run_id": run.id, "results": [_public(r) for r in results], "errors": [e["id"] for e in errors]}

    async def retry_errors(
        self, run_id: str, *, ids: list[str] | None = None, data: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Retry a run's open record errors (``ids``: some of them), each from the stage it failed
        at, with its saved data or ``data[error_id]`` instead; one new run per stage."""
        run = await self.store.runs.get(run_id)
        document = (run.input or {}).get("document") if run.kind == "import" else None
        if document is None:
            raise InvalidInput(f"run {run_id!r} is not an import run; only an import's record errors can be retried")
        errors = await self.store.run_errors.list(run.id, ids=ids, status="open")
        if ids is not None and len(errors) != len(set(ids)):
            missing = sorted(set(ids) - {e.id for e in errors})
            raise Conflict(f"run {run_id!r} has no open record error {missing[0]!r}", code="NOT_FAILED",
                           hint=f"GET /runs/{run_id}/errors lists them")  # fmt: skip
        value = await self.resolve(document)
        edited = dict(data or {})
        by_stage: dict[str, list[Any]] = {}
        for error in errors:
            retry = error.retry_data or {}
            by_stage.setdefault(retry.get("stage", "pre_map"), []).append(error)
        outcomes = []
        for stage, group in by_stage.items():
            records = [edited.get(e.id, (e.retry_data or {}).get("data")) for e in group]
            sent = await self._send(value, records, connection=run.connection_id, stage=stage, parent_id=run.id)
            for error, result in zip(group, sent["results"], strict=True):
                await self.store.run_errors.mark([error.id], "failed_again" if result["errors"] else "retried")
            outcomes.append(sent)
        return outcomes


def _check_records(data: Any) -> None:
    if not isinstance(data, list):
        raise InvalidInput(f"data must be a list of records, not {type(data).__name__}")
    if len(data) > MAX_RECORDS:
        raise InvalidInput(f"{len(data):,} records in one import run; at most {MAX_RECORDS:,}",
                           hint="send them in batches (a flow's import step pages them for you)")  # fmt: skip


def _output(run: RunRecord) -> dict[str, Any]:
    """The run's output; its error (naming the run, whose logs say more) when it failed."""
    if run.status != "succeeded":
        error = error_from_dict(run.error or {})
        error.details.setdefault("run_id", run.id)
        raise error
    return dict(run.output or {})


def _public(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "retry_data"}
