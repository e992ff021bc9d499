"""An export's or an import's run, in the sandboxed child: splice's pipeline with the run's ``ctx``.

An export or import is data, not a script, but its hooks and its mapping are user code and
user expressions, so a page of it runs where scripts run — the confined child, under the run's
time and memory limits (the only bound on a JSONata expression that recurses forever is a
wall-clock kill). The run's "script" is made here from the resource's integration
(:func:`resource_script`); its function reads the resource's document from the run's input,
sends its requests through ``ctx.api`` (the parent adds the connection's credentials, retries
and logs them, and a 4xx comes back as an answer: ``raise_for_status=False``), reads lookup
caches through ``ctx.engine`` and calls the integration's hook functions in the child.

One run is one export page (``{data, errors, paged_export_state}``: pass the state back for
the next page) or one batch of import records (a result per record, Celigo's ``responseData``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from splice._runtime.request import RunRequest
from splice.errors import InvalidInput, NotFound
from splice.integration import Integration, Script
from splice.project import Project
from splice.resources import (
    AsyncHelper,
    Export,
    FileDefinition,
    HttpAnswer,
    Import,
    export_page,
    import_records,
    run_mapping,
)
from splice.store import Connection, Store

#: the run kinds whose scripts are made here rather than declared
KINDS = ("export", "import")
#: keys of a lookup cache read in one call
_KEYS_PER_CALL = 1000


def resource_script(integration: Integration, kind: str, name: str) -> Script:
    """The script of an export's or import's run (not listed among the integration's scripts)."""
    runs = _run_export if kind == "export" else _run_import

    async def run(ctx: Any, input: dict[str, Any]) -> dict[str, Any]:
        return await runs(integration, ctx, input)

    return Script(integration, name, kind, run, description=f"the {kind} {integration.name}.{name}")  # type: ignore[arg-type]


async def resolve(project: Project, store: Store, kind: str, id: str) -> Any:
    """The export, import, async helper or file definition ``id`` names: declared in code, else stored."""
    integration, _, name = id.rpartition(".")
    declared = getattr(project.integration(integration), f"{kind}s").get(name)
    if declared is not None:
        return declared
    stored = await store.resources.get(f"{kind}s", id)
    document = {k: v for k, v in stored.document.items() if k != "id"}
    return _PARSERS[kind](document)


_PARSERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "export": Export.from_json, "import": Import.from_json, "async_helper": AsyncHelper.from_json,
    "file_definition": FileDefinition.from_json,
}  # fmt: skip


async def attachments(project: Project, store: Store, value: Export | Import) -> dict[str, Any]:
    """The documents of the async helper and the file definition an export or import names
    (``"bulk"``: of its own integration; ``"crm.bulk"``), as :func:`resource_request` takes them."""
    found: dict[str, Any] = {}
    for kind, ref in (("async_helper", value.async_helper), ("file_definition", value.file)):
        if ref is None:
            continue
        id = ref if "." in ref else f"{value.integration}.{ref}"
        try:
            found[kind] = (await resolve(project, store, kind, id)).to_json()
        except NotFound:
            what = kind.replace("_", " ")
            raise NotFound(
                f"{value.where}: {what} {id!r} is neither declared nor stored",
                details={kind: id},
                hint=f"declare it (acme.{kind}(...)) or create it: POST /{kind}s",
            ) from None
    return found


def resource_request(
    script: Script, value: Export | Import, connection: Connection | None, input: dict[str, Any],
    shown: dict[str, Any], *, attached: Mapping[str, Any] | None = None, **options: Any,
) -> RunRequest:  # fmt: skip
    """A run of ``value``'s pipeline (``options``: other RunRequest fields). The stored input names
    the resource and leaves the records out; an import's keeps its document, which retrying its
    record errors runs again. What the resource names (:func:`attachments`) goes with it."""
    kind, document = script.kind, value.to_json()
    stored = {kind: f"{value.integration}.{value.name}", **shown}
    if kind == "import":
        stored["document"] = document
    given = {kind: document, **input, **(attached or {})}
    return RunRequest(script=script, connection=connection, input=given, shown_input=stored, **options)


def script_of(project: Project, integration: str, name: str, kind: str | None) -> Script:
    """The script a run names: a declared one, or an export's or import's made here."""
    owner = project.integration(integration)
    return resource_script(owner, kind, name) if kind in KINDS else owner.script(name)


async def _run_export(integration: Integration, ctx: Any, input: dict[str, Any]) -> dict[str, Any]:
    export = Export.from_json(input["export"])
    page = await export_page(
        export, ApiHttp(ctx.api), state=input.get("paged_export_state"), data=input.get("data"),
        settings=_settings(ctx, input), start_date=input.get("start_date"), end_date=input.get("end_date"),
        hooks=_hooks(integration, export.hooks), async_helper=_helper(input.get("async_helper")),
        file=_file(input.get("file_definition")),
    )  # fmt: skip
    return {"data": page.data, "errors": page.errors, "paged_export_state": page.state,
            "page_index": page.page_index, "aborted": page.aborted}  # fmt: skip


async def _run_import(integration: Integration, ctx: Any, input: dict[str, Any]) -> dict[str, Any]:
    import_ = Import.from_json(input["import"])
    records = input.get("data")
    if not isinstance(records, list):
        raise InvalidInput(f"import {import_.name!r}: data must be a list of records, not {type(records).__name__}")
    lookups = EngineLookups(ctx, import_.integration)
    if input.get("mapping_only"):
        return {"results": await run_mapping(import_, records, lookups, settings=_settings(ctx, input))}
    results = await import_records(import_, records, ApiHttp(ctx.api), lookups=lookups,
                                   settings=_settings(ctx, input), hooks=_hooks(integration, import_.hooks),
                                   stage=input.get("stage"), file=_file(input.get("file_definition")),
                                   async_helper=_helper(input.get("async_helper")))  # fmt: skip
    if input.get("lean"):  # a flow's step: what failed in full, what went through in short
        return {"results": [_lean(result.to_json()) for result in results]}
    return {"results": [result.to_json() for result in results]}


def _helper(document: Any) -> AsyncHelper | None:
    return None if document is None else AsyncHelper.from_json(document)


def _file(document: Any) -> FileDefinition | None:
    return None if document is None else FileDefinition.from_json(document)


def _lean(result: dict[str, Any]) -> dict[str, Any]:
    if result["errors"]:
        return result
    return {"status_code": result["status_code"], "id": result["id"], "ignored": result["ignored"], "errors": []}


class ApiHttp:
    """The pipeline's :class:`~splice.resources.Http` over ``ctx.api``."""

    def __init__(self, api: Any) -> None:
        self.api = api

    async def __call__(
        self, method: str, path: str, *, query: list[tuple[str, str]], headers: dict[str, str], body: bytes | None
    ) -> HttpAnswer:
        params: dict[str, list[str]] = {}
        for name, value in query:
            params.setdefault(name, []).append(value)
        if body is not None and not any(k.lower() == "content-type" for k in headers):
            headers = {**headers, "Content-Type": "application/json"}
        answer = await self.api.request(method, path, query=params, data=body, headers=headers,
                                        return_full_response=True, response_type="bytes",
                                        raise_for_status=False)  # fmt: skip
        return HttpAnswer(answer.status, answer.headers, answer.data, answer.url)


class EngineLookups:
    """The mapping's lookup reads, through ``ctx.engine`` (a cache named without its integration
    is the import's integration's: ``"owners"`` → ``"acme.owners"``)."""

    def __init__(self, ctx: Any, integration: str) -> None:
        self.ctx = ctx
        self.integration = integration

    async def get(self, cache: str, keys: list[str]) -> dict[str, str]:
        cache_id = cache if "." in cache else f"{self.integration}.{cache}"
        found: dict[str, str] = {}
        for start in range(0, len(keys), _KEYS_PER_CALL):
            page = await self.ctx.engine.lookups.get_data(cache_id, keys=keys[start : start + _KEYS_PER_CALL])
            found.update((entry["key"], entry["value"]) for entry in page["data"])
        return found


def _settings(ctx: Any, input: Mapping[str, Any]) -> dict[str, Any]:
    """Celigo's ``settings``: the run's own, else the connection's config."""
    if input.get("settings") is not None:
        return dict(input["settings"])
    config = ctx.config
    return config.model_dump(mode="json") if isinstance(config, BaseModel) else dict(config or {})


def _hooks(integration: Integration, declared: Mapping[str, str]) -> dict[str, Callable[..., Any]]:
    return {stage: integration.hook_function(qualname) for stage, qualname in declared.items()}


def import_summary(results: list[dict[str, Any]]) -> dict[str, int]:
    """An import step's result: how many records went through, failed, were ignored."""
    failed = sum(1 for r in results if r.get("errors"))
    ignored = sum(1 for r in results if r.get("ignored") and not r.get("errors"))
    return {"records": len(results), "succeeded": len(results) - failed - ignored, "failed": failed,
            "ignored": ignored}  # fmt: skip


def record_error(result: dict[str, Any]) -> dict[str, Any]:
    """A failed record's error row: its first error, all of them, and its retry data."""
    first = (result.get("errors") or [{}])[0]
    return {"id": f"err_{uuid.uuid4().hex[:20]}", "stage": result["retry_data"]["stage"],
            "code": str(first.get("code") or "ERROR"), "message": str(first.get("message") or "the record failed"),
            "error": {"errors": result.get("errors") or []}, "retry_data": result["retry_data"]}  # fmt: skip
