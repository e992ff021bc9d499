"""Running an import: ``pre_map → mapping → post_map → submit → post_submit`` for a page of records.

One bad record never stops the others: a mapping error, a template that fails for its data or
a 4xx from the destination makes *that* record an error (Celigo's ``responseData`` with status
422), while a hook that raises or breaks its contract fails the page (it raises), as in Celigo.

Each errored record carries ``retry_data = {stage, data}``: the stage it failed at and what
that stage received. Passing the ``data`` of such records back with ``stage=`` runs them from
that stage alone, without the stages before it — how one errored record is retried::

    results = await import_records(contacts, records, http, lookups=caches)
    failed = [r.retry_data for r in results if r.retry_data and r.retry_data["stage"] == "submit"]
    again = await import_records(contacts, [f["data"] for f in failed], http, lookups=caches, stage="submit")
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from splice.errors import ApiError, InvalidInput, UsageError
from splice.resources import _async, _hooks, _templates
from splice.resources._async import AsyncHelper
from splice.resources._check import MISSING, as_text, get_path, record_error, shown
from splice.resources._file import FileDefinition
from splice.resources._http import Http, HttpAnswer
from splice.resources._import import Import
from splice.resources._mapping import CompiledMapping, Compiler, Expression, compile_jsonata, key_string
from splice.resources._pipeline import MAX_ERROR_BODY, api_failure, encode_body, poll

STAGES = ("pre_map", "mapping", "post_map", "submit", "post_submit")
#: the stages a record can be re-entered at (post_submit needs the destination's answer)
RETRY_STAGES = STAGES[:4]


class Lookups(Protocol):
    """Lookup cache reads, one call per cache and page: the entries found among ``keys``."""

    async def get(self, cache: str, keys: list[str]) -> dict[str, str]: ...


class StaticLookups:
    """Lookups from entries in memory: ``StaticLookups({"owners": {"Ann": "u1"}})``."""

    def __init__(self, entries: Mapping[str, Mapping[str, str]]) -> None:
        self.entries = entries

    async def get(self, cache: str, keys: list[str]) -> dict[str, str]:
        found = self.entries.get(cache, {})
        return {key: found[key] for key in keys if key in found}


@dataclass(slots=True)
class ImportResult:
    """One record's outcome (Celigo's ``responseData``): 200 ok, 422 a data error."""

    status_code: int = 200
    id: Any = None
    data: Any = None
    response: Any = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    ignored: bool = False
    stage: str = "pre_map"
    retry_data: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"status_code": self.status_code, "id": self.id, "data": self.data, "_json": self.response,
                "errors": self.errors, "ignored": self.ignored, "stage": self.stage,
                "retry_data": self.retry_data}  # fmt: skip


@dataclass(slots=True)
class _Item:
    data: Any  # what the current stage receives
    pre_map_data: Any = None
    post_map_data: Any = None
    result: ImportResult = field(default_factory=ImportResult)
    live: bool = True

    def fail(self, stage: str, errors: list[dict[str, Any]], data: Any) -> None:
        self.result.status_code, self.result.stage, self.live = 422, stage, False
        self.result.errors.extend(errors)
        self.result.retry_data = {"stage": stage, "data": data}

    def ignore(self, stage: str) -> None:
        self.result.ignored, self.result.stage, self.live = True, stage, False

    def pair(self) -> dict[str, Any]:
        return {"pre_map_data": self.pre_map_data, "post_map_data": self.post_map_data}


async def import_records(
    import_: Import,
    records: Sequence[Any],
    http: Http,
    *,
    lookups: Lookups,
    settings: Mapping[str, Any] | None = None,
    hooks: Mapping[str, _hooks.Hook] | None = None,
    stage: str | None = None,
    compiler: Compiler = compile_jsonata,
    file: FileDefinition | None = None,
    async_helper: AsyncHelper | None = None,
) -> list[ImportResult]:
    """Each record through the stages from ``stage`` (``pre_map`` when None); one result per record.

    With ``stage="mapping"`` records are pre-mapped records; with ``"post_map"`` or ``"submit"``
    they are ``{pre_map_data, post_map_data}`` — each what its ``retry_data["data"]`` holds. An
    import with ``file=`` needs its file definition passed as ``file``, one with an async helper
    the helper as ``async_helper``.
    """
    where = import_.where
    start = stage or "pre_map"
    if start not in RETRY_STAGES:
        raise InvalidInput(f"{where}: stage {start!r} cannot be re-entered (stages: {', '.join(RETRY_STAGES)})")
    if import_.file is not None and file is None:
        raise UsageError(f"{where}: file definition {import_.file!r} is declared but was not passed",
                         hint="resolve it and pass it as file=")  # fmt: skip
    if import_.async_helper is not None and async_helper is None:
        raise UsageError(f"{where}: async helper {import_.async_helper!r} is declared but was not passed",
                         hint="resolve it and pass it as async_helper=")  # fmt: skip
    run = _Run(import_, http, lookups, dict(settings or {}), _resolved(import_, hooks), compiler)
    run.file, run.helper = file, async_helper
    items = run.items = [run.enter(start, record, index) for index, record in enumerate(records)]
    first = STAGES.index(start)
    for name in STAGES[first:]:
        await getattr(run, name)([item for item in items if item.live])
    return [item.result for item in items]


async def run_mapping(
    import_: Import, records: Sequence[Any], lookups: Lookups, *, settings: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Celigo's ``imports.runMapping``: ``[{status_code, data, errors}]``, nothing sent."""
    run = _Run(import_, None, lookups, dict(settings or {}), {}, compile_jsonata)
    items = run.items = [run.enter("mapping", record, index) for index, record in enumerate(records)]
    await run.mapping(items)
    return [{"status_code": i.result.status_code, "data": i.post_map_data, "errors": i.result.errors} for i in items]


def _resolved(import_: Import, hooks: Mapping[str, _hooks.Hook] | None) -> dict[str, _hooks.Hook]:
    given = dict(hooks or {})
    for name, function in import_.hooks.items():
        if name not in given:
            raise UsageError(
                f"{import_.where}: hook {name} ({function}) is declared but was not passed",
                hint=f"resolve the import's hooks and pass them as hooks={{{name!r}: function}}",
            )
    return given


class _Run:
    items: list[_Item]
    file: FileDefinition | None = None
    helper: AsyncHelper | None = None

    def __init__(self, import_: Import, http: Http | None, lookups: Lookups, settings: dict[str, Any],
                 hooks: dict[str, _hooks.Hook], compiler: Compiler) -> None:  # fmt: skip
        self.import_, self.where, self.http, self.lookups, self.settings, self.hooks = (
            import_, import_.where, http, lookups, settings, hooks,
        )  # fmt: skip
        self.mapper = None if import_.mapping is None else CompiledMapping(import_.mapping, self.where, compiler)
        ignore = import_.ignore_existing
        self.ignore_key = ignore and Expression(ignore.key, self.where, "ignore_existing.key", compiler)

    def enter(self, stage: str, record: Any, index: int) -> _Item:
        if stage in ("post_map", "submit"):
            if not isinstance(record, dict) or set(record) != {"pre_map_data", "post_map_data"}:
                raise InvalidInput(
                    f"{self.where}: record {index}: to enter at {stage}, a record is its retry_data's data "
                    f"{{pre_map_data, post_map_data}}, not {shown(record)}"
                )
            item = _Item(record, record["pre_map_data"], record["post_map_data"])
        else:
            item = _Item(record, pre_map_data=record if stage == "mapping" else None)
        item.result.stage = stage
        return item

    def _name(self, hook: str) -> str:
        return _hooks.function_name(self.hooks[hook], self.import_.hooks.get(hook))

    async def pre_map(self, items: list[_Item]) -> None:
        for item in items:
            item.pre_map_data = item.data
        if "pre_map" in self.hooks and items:
            name = self._name("pre_map")
            options = {"data": [i.data for i in items], "settings": self.settings}
            result = await _hooks.call("pre_map", self.hooks["pre_map"], name, options)
            checked = _hooks.check_items("pre_map", name, result, len(items), "record")
            for item, out in zip(items, checked, strict=True):
                _apply(item, out, "pre_map", "pre_map_data")

    async def mapping(self, items: list[_Item]) -> None:
        for item in items:
            item.result.stage = "mapping"
        if self.mapper is None:
            for item in items:
                item.post_map_data = item.pre_map_data
            return
        keys = [self.mapper.lookup_keys(item.pre_map_data, self.settings) for item in items]
        caches = [compiled.field.lookup.cache for _, compiled in self.mapper.lookups]  # type: ignore[union-attr]
        entries = await self._fetch([(cache, [k[n] for k in keys]) for n, cache in enumerate(caches)])
        for item, its_keys in zip(items, keys, strict=True):
            mapped, errors = self.mapper.apply(item.pre_map_data, its_keys, entries, self.settings)
            if errors:
                item.fail("mapping", errors, item.pre_map_data)
            else:
                item.post_map_data = mapped

    async def post_map(self, items: list[_Item]) -> None:
        for item in items:
            item.result.stage = "post_map"
        if "post_map" in self.hooks and items:
            name = self._name("post_map")
            options = {**_pairs(items), "settings": self.settings}
            result = await _hooks.call("post_map", self.hooks["post_map"], name, options)
            checked = _hooks.check_items("post_map", name, result, len(items), "record")
            for item, out in zip(items, checked, strict=True):
                _apply(item, out, "post_map", "post_map_data")

    async def submit(self, items: list[_Item]) -> None:
        for item in items:
            item.result.stage, item.result.data = "submit", item.post_map_data
        live = await self._not_existing(items)
        size = self.import_.batch_size
        for start in range(0, len(live), size):
            await self._send(live[start : start + size])

    async def post_submit(self, items: list[_Item]) -> None:
        # every record that reached submit: sent, refused there, or ignored as existing
        reached = [i for i in self.items if i.result.stage == "submit"]
        for item in items:
            item.result.stage = "post_submit"
        if "post_submit" not in self.hooks or not reached:
            return
        name = self._name("post_submit")
        responses = [_response(i.result) for i in reached]
        options = {**_pairs(reached), "response_data": responses, "settings": self.settings}
        result = await _hooks.call("post_submit", self.hooks["post_submit"], name, options)
        for item, out in zip(reached, _hooks.check_responses(name, result, len(reached)), strict=True):
            res = item.result
            res.status_code, res.id, res.response = out["status_code"], out.get("id"), out.get("_json")
            res.errors, res.ignored = list(out.get("errors") or []), bool(out.get("ignored", False))
            if res.status_code >= 400 and res.retry_data is None:
                res.retry_data = {"stage": "submit", "data": item.pair()}

    # --- helpers --------------------------------------------------------------------------

    async def _fetch(self, wanted: list[tuple[str, list[Any]]]) -> dict[str, dict[str, str]]:
        """One ``lookups.get`` per cache for every key the page needs."""
        keys: dict[str, set[str]] = {}
        for cache, found in wanted:
            keys.setdefault(cache, set()).update(k for k in found if isinstance(k, str))
        return {cache: await self.lookups.get(cache, sorted(ks)) if ks else {} for cache, ks in keys.items()}

    async def _not_existing(self, items: list[_Item]) -> list[_Item]:
        ignore = self.import_.ignore_existing
        if ignore is None or self.ignore_key is None:
            return items
        keys: list[Any] = []
        for item in items:
            try:
                keys.append(key_string(self.ignore_key(item.post_map_data, self.settings)))
            except InvalidInput as exc:
                keys.append(exc)
        existing = (await self._fetch([(ignore.lookup, keys)]))[ignore.lookup]
        live = []
        for item, key in zip(items, keys, strict=True):
            if isinstance(key, InvalidInput):
                item.fail("submit", [record_error(key, "import", field="ignore_existing.key")], item.pair())
            elif key is not None and key in existing:
                item.ignore("submit")
            else:
                live.append(item)
        return live

    async def _send(self, batch: list[_Item]) -> None:
        import_, where = self.import_, self.where
        records = [i.post_map_data for i in batch]
        batched = import_.batch_size > 1
        context = {"records": records, "settings": self.settings} if batched else {
            "record": records[0], "records": records, "settings": self.settings}  # fmt: skip
        try:
            path = _templates.render(import_.path, context, where, "path")
            headers = {k: _templates.render(v, context, where, f"headers.{k}") for k, v in import_.headers.items()}
            if self.file is not None:  # the batch as one file
                body = self.file.generate(records)
                if not any(k.lower() == "content-type" for k in headers):
                    headers["Content-Type"] = self.file.content_type
            elif import_.body is None:  # the mapped record (the batch) as JSON
                body = orjson.dumps(records if batched else records[0])
            else:
                body = encode_body(import_.body, context, where, "body", import_.sends_json)
        except InvalidInput as exc:
            for item in batch:
                item.fail("submit", [record_error(exc, "import", field=exc.details.get("field"))], item.pair())
            return
        if self.file is None and import_.sends_json and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
        assert self.http is not None  # run_mapping stops before submit
        answer = await self.http(import_.method, path, query=[], headers=headers, body=body)
        if self.helper is not None and 200 <= answer.status < 300:
            try:
                answer = await self._job(answer)
            except ApiError as exc:
                for item in batch:
                    item.fail("submit", [record_error(exc, "import", status=answer.status)], item.pair())
                return
        self._read(batch, answer)

    async def _job(self, submit: HttpAnswer) -> HttpAnswer:
        """Wait for the job a batch's submit answered with: its last status answer, or its result's."""
        helper, http = self.helper, self.http
        assert helper is not None and http is not None
        try:
            job = _async.submitted(helper, self.import_, submit.json(), time.time())[_async.JOB]
        except ValueError:
            raise api_failure(self.where, self.import_.method, submit, "answered a submit that is not JSON") from None
        context = {"settings": self.settings}
        while True:
            await asyncio.sleep(helper.poll_interval)
            done, _, answer = await poll(helper, self.import_, http, job, {}, context)
            if done:
                break
            job["polls"] += 1
        if helper.result_path is None:
            return answer
        path = _templates.render(helper.result_path, {**context, "job_id": job["job_id"]}, helper.where, "result_path")
        return await http(helper.result_method, path, query=[], headers=dict(helper.headers), body=None)

    def _read(self, batch: list[_Item], answer: HttpAnswer) -> None:
        import_, where = self.import_, self.where
        try:
            if not 200 <= answer.status < 300:
                text = answer.text(MAX_ERROR_BODY)
                raise api_failure(where, import_.method, answer, f"answered {answer.status}: {text}")
            body = _parsed(answer)
            answers = _per_record(import_, body, len(batch), answer)
        except ApiError as exc:
            for item in batch:
                error = record_error(exc, "import", status=answer.status, body=answer.text(MAX_ERROR_BODY))
                item.fail("submit", [error], item.pair())
            return
        for item, one in zip(batch, answers, strict=True):
            item.result.response = one
            if import_.success_path is not None:
                value = get_path(one, import_.success_path)
                if value is MISSING or (import_.success_values and as_text(value) not in import_.success_values):
                    exc = api_failure(where, import_.method, answer, f"failed: success_path {import_.success_path!r} "
                                      f"is {'missing' if value is MISSING else shown(value)}")  # fmt: skip
                    item.fail("submit", [record_error(exc, "import", status=answer.status, body=shown(one))],
                              item.pair())  # fmt: skip
                    continue
            if import_.response_id_path is not None:
                found = get_path(one, import_.response_id_path)
                item.result.id = None if found is MISSING else found


def _apply(item: _Item, out: dict[str, Any], stage: str, slot: str) -> None:
    """A pre_map/post_map item: ``{}`` ignores the record, ``{data, errors?}`` replaces its data."""
    if not out:
        item.ignore(stage)
        return
    setattr(item, slot, out["data"])
    item.data = out["data"]
    item.result.errors.extend(out.get("errors") or [])


def _pairs(items: list[_Item]) -> dict[str, list[Any]]:
    return {"pre_map_data": [i.pre_map_data for i in items], "post_map_data": [i.post_map_data for i in items]}


def _response(result: ImportResult) -> dict[str, Any]:
    data = result.to_json()
    del data["retry_data"]
    return data


def _parsed(answer: HttpAnswer) -> Any:
    try:
        return answer.json()
    except ValueError:
        return answer.text(MAX_ERROR_BODY)


def _per_record(import_: Import, body: Any, count: int, answer: HttpAnswer) -> list[Any]:
    """Each record's part of the answer: the items at response_records_path; for a batch without
    one, the answer's items when it is a list of one per record (else the whole answer)."""
    if import_.batch_size == 1:
        return [body] * count
    if import_.response_records_path is None:
        return body if isinstance(body, list) and len(body) == count else [body] * count
    found = get_path(body, import_.response_records_path)
    if not isinstance(found, list) or len(found) != count:
        what = "missing" if found is MISSING else f"{len(found)} items" if isinstance(found, list) else shown(found)
        raise api_failure(import_.where, import_.method, answer,
                          f"answered with response_records_path {import_.response_records_path!r} {what} "
                          f"for {count} records")  # fmt: skip
    return found
