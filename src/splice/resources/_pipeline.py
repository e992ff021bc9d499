"""Running an export: one page per call, its state handed back for the next (Celigo's
``runVirtualWithPaging``), through an injected :class:`~splice.resources.Http`.

A page that the API failed (a status, ``success_path``/``fail_path``/``error_path`` on a 200, a
body that is not JSON, a ``records_path`` that is not there) comes back as a page with one
error and no next state; a ``pre_save_page`` hook that raises or breaks its contract, a
template that fails and a paging loop raise.

>>> page = await export_page(contacts, http)
>>> while page.state is not None:
...     page = await export_page(contacts, http, state=page.state)
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from splice.errors import ApiError, FileInvalid, InvalidInput, UsageError
from splice.resources import _async, _hooks, _templates
from splice.resources._async import AsyncHelper
from splice.resources._check import MISSING, Where, as_text, get_path, record_error, shown
from splice.resources._export import Export
from splice.resources._file import FileDefinition
from splice.resources._http import Http, HttpAnswer
from splice.resources._paging import Fetched, check_state, first_state, next_state

#: most characters of an API's answer kept in an error
MAX_ERROR_BODY = 2048
DateLike = datetime | str | None


@dataclass(frozen=True, slots=True)
class ExportPage:
    """One page: its records and errors, and the state for the next page (None: this was the last)."""

    data: list[Any]
    errors: list[dict[str, Any]]
    state: dict[str, Any] | None
    page_index: int
    aborted: bool = False


async def export_page(
    export: Export,
    http: Http,
    *,
    state: dict[str, Any] | None = None,
    data: Any = None,
    settings: Mapping[str, Any] | None = None,
    start_date: DateLike = None,
    end_date: DateLike = None,
    hooks: Mapping[str, _hooks.Hook] | None = None,
    async_helper: AsyncHelper | None = None,
    file: FileDefinition | None = None,
) -> ExportPage:
    """The page ``state`` points at (the first when None); ``start_date`` is the last successful
    run's time (the delta's lower bound), ``end_date`` this run's (now when None). An export
    with an async helper needs it passed as ``async_helper`` (see :mod:`._async`), one with a
    file definition as ``file``: its answer is then read as one file, whose records are the page."""
    where = export.where
    if export.file is not None and file is None:
        raise UsageError(f"{where}: file definition {export.file!r} is declared but was not passed",
                         hint="resolve it and pass it as file=")  # fmt: skip
    if export.async_helper is not None:
        if async_helper is None:
            raise UsageError(f"{where}: async helper {export.async_helper!r} is declared but was not passed",
                             hint="resolve it and pass it as async_helper=")  # fmt: skip
        options = {"data": data, "settings": settings, "hooks": hooks, "file": file}
        if state is None:
            return await _submit(export, async_helper, http, _window(export, start_date, end_date), **options)
        return await _job_page(export, async_helper, http, _async.check_job(state, where), state, **options)
    if state is None:
        state = first_state(export.paging, _window(export, start_date, end_date))
    else:
        state = check_state(state, where)
    context = _context(export, state, data, settings)
    method, path, query, headers, body = _request(export, state, context)
    answer = await http(method, path, query=query, headers=headers, body=body)
    index = state["page_index"]
    paging = export.paging
    if paging is not None and answer.status == paging.last_page_status_code:
        return ExportPage([], [], None, index)
    try:
        if file is not None:
            records = _file_records(export, file, method, answer)
            return await _finish(export, state, records, [], None, settings, hooks)
        parsed = _checked(export, method, answer)
        records = _records(export, parsed)
    except (ApiError, FileInvalid) as exc:
        return await _finish(export, state, [], [record_error(exc, "export", status=answer.status)], None,
                             settings, hooks)  # fmt: skip
    fetched = Fetched(answer.status, answer.headers, parsed, answer.url, records)
    previous = {"full_response": parsed, "last_record": records[-1] if records else None,
                "headers": dict(answer.headers.items())}  # fmt: skip
    following = next_state(paging, export.page_size, state, fetched, {**context, "previous_page": previous}, where)
    if following is not None:
        following["previous_page"] = previous if _needs_previous(export) else None
    return await _finish(export, state, records, [], following, settings, hooks)


async def _submit(
    export: Export, helper: AsyncHelper, http: Http, window: dict[str, Any], **options: Any
) -> ExportPage:
    """The export's own request, as an async job's submit: a page with no records and the job."""
    state = first_state(export.paging, window)
    method, path, query, headers, body = _request(export, state, _context(export, state, options["data"],
                                                                          options["settings"]))  # fmt: skip
    answer = await http(method, path, query=query, headers=headers, body=body)
    try:
        parsed = _checked(export, method, answer)
    except ApiError as exc:
        return ExportPage([], [record_error(exc, "export", status=answer.status)], None, 0)
    job = _async.submitted(helper, export, parsed, time.time())
    job[_async.JOB]["delta"] = window
    return ExportPage([], [], job, 0)


async def _job_page(
    export: Export, helper: AsyncHelper, http: Http, job: dict[str, Any], state: Mapping[str, Any], **options: Any
) -> ExportPage:
    """A status poll (a page with no records while the job runs), or a page of its result.

    A poll the API fails raises (the page is retried with the same state: the same job)."""
    base = first_state(None, job.get("delta"))
    context = _context(export, base, options["data"], options["settings"])
    if job["phase"] == "status":
        done, parsed, _ = await poll(helper, export, http, job, export.headers, context)
        polled = {**job, "polls": job["polls"] + 1}
        if not done:
            return ExportPage([], [], {_async.JOB: {**polled, "next_poll_at": time.time() + helper.poll_interval}}, 0)
        job = {**polled, "phase": "result"}
        if helper.result_path is None:
            records = _records(export, parsed)
            return await _finish(export, base, records, [], None, options["settings"], options["hooks"])
        inner_state = first_state(helper.result_paging, job.get("delta"))
    else:
        inner_state = state.get("result")
    inner = _async.result_export(helper, replace(export, async_helper=None), job["job_id"], context)
    page = await export_page(inner, http, state=inner_state, **options)
    following = None if page.state is None else {_async.JOB: job, "result": page.state}
    return ExportPage(page.data, page.errors, following, page.page_index, page.aborted)


async def poll(
    helper: AsyncHelper,
    resource: Any,
    http: Http,
    job: Mapping[str, Any],
    headers: Mapping[str, str],
    context: dict[str, Any],
) -> tuple[bool, Any, HttpAnswer]:
    """One status request of a job: (done?, the parsed answer, the answer). Raises for a poll the
    API failed and for a job that failed, ran out of time or answered an unknown status."""
    method, path, rendered = _async.status_request(helper, headers, job, context)
    answer = await http(method, path, query=[], headers=rendered, body=None)
    if not 200 <= answer.status < 300:
        raise api_failure(helper.where, method, answer, f"answered {answer.status}: {answer.text(MAX_ERROR_BODY)}")
    try:
        parsed = answer.json()
    except ValueError:
        raise api_failure(helper.where, method, answer, f"answered with a body that is not JSON: "
                          f"{answer.text(200)}") from None  # fmt: skip
    return _async.status_of(helper, resource, dict(job), parsed, time.time()) == "done", parsed, answer


async def export_pages(export: Export, http: Http, **options: Any) -> AsyncIterator[ExportPage]:
    """Every page, first to last (``options`` as :func:`export_page`'s, but ``state``)."""
    page = await export_page(export, http, **options)
    yield page
    while page.state is not None:
        page = await export_page(export, http, **{**options, "state": page.state})
        yield page


async def run_virtual_with_paging(
    export: Export, http: Http, *, paged_export_state: dict[str, Any] | None = None, **options: Any
) -> dict[str, Any]:
    """Celigo's ``exports.runVirtualWithPaging``: ``{data, errors, paged_export_state}``; pass the
    state back unchanged for the next page (None after the last)."""
    page = await export_page(export, http, state=paged_export_state, **options)
    return {"data": page.data, "errors": page.errors, "paged_export_state": page.state}


async def _finish(
    export: Export,
    state: dict[str, Any],
    records: list[Any],
    errors: list[dict[str, Any]],
    following: dict[str, Any] | None,
    settings: Mapping[str, Any] | None,
    hooks: Mapping[str, _hooks.Hook] | None,
) -> ExportPage:
    function = _hook(export, hooks)
    index = state["page_index"]
    if function is None or not (records or errors):
        return ExportPage(records, errors, following, index)
    name = _hooks.function_name(function, export.hooks.get("pre_save_page"))
    window = state["delta"]
    options = {"data": records, "errors": errors, "settings": dict(settings or {}), "page_index": index,
               "last_export_date_time": window["last"], "current_export_date_time": window["current"]}  # fmt: skip
    result = await _hooks.call("pre_save_page", function, name, options)
    records, errors, abort = _hooks.check_page(name, result)
    return ExportPage(records, errors, None if abort else following, index, aborted=abort)


def _hook(export: Export, hooks: Mapping[str, _hooks.Hook] | None) -> _hooks.Hook | None:
    function = (hooks or {}).get("pre_save_page")
    if function is None and "pre_save_page" in export.hooks:
        raise UsageError(
            f"{export.where}: hook pre_save_page ({export.hooks['pre_save_page']}) is declared but was not passed",
            hint="resolve the export's hooks and pass them as hooks={'pre_save_page': function}",
        )
    return function


# --- the request ---------------------------------------------------------------------------


def _window(export: Export, start: DateLike, end: DateLike) -> dict[str, Any]:
    """The delta window, fixed for every page of a run: formatted bounds and the raw times."""
    last = _date(start, export.where, "start_date")
    current = _date(end, export.where, "end_date") or datetime.now(UTC)
    delta = export.delta
    lag = timedelta(milliseconds=delta.lag_offset if delta else 0)
    fmt = delta.date_format if delta else None
    return {"start": None if last is None else _format(last - lag, fmt), "end": _format(current, fmt),
            "last": None if last is None else _format(last, None), "current": _format(current, None)}  # fmt: skip


def _date(value: DateLike, where: Where, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{where}: {name}: not an ISO 8601 date-time: {shown(value)}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _format(value: datetime, fmt: str | None) -> str:
    if fmt is None:
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value.astimezone(UTC).strftime(fmt)


def _context(export: Export, state: dict[str, Any], data: Any, settings: Mapping[str, Any] | None) -> dict[str, Any]:
    window = state["delta"]
    delta = export.delta
    return {
        "export": export.to_json() | {"page_size": export.page_size},
        "paging": {**state["paging"], "page_index": state["page_index"], "page_size": export.page_size},
        "previous_page": state["previous_page"],
        "delta": {"start": window["start"], "end": window["end"], "date_field": delta.date_field if delta else None},
        "settings": dict(settings or {}),
        "data": data,
    }


def _request(
    export: Export, state: dict[str, Any], context: dict[str, Any]
) -> tuple[str, str, list[tuple[str, str]], dict[str, str], bytes | None]:
    where = export.where
    headers = {k: _templates.render(v, context, where, f"headers.{k}") for k, v in export.headers.items()}
    query: list[tuple[str, str]] = []
    if state["url"] is not None:
        path = state["url"]
    else:
        path = state["path"] or _templates.render(export.path, context, where, "path")
        query = [(k, _templates.render(v, context, where, f"query.{k}")) for k, v in export.query.items()]
        paging = export.paging
        if paging is not None and paging.param is not None and paging.method in ("page", "skip", "token"):
            value = state["paging"]["token" if paging.method == "token" else paging.method]
            if value is not None:
                query.append((paging.param, str(value)))
    raw = state["body"] if state["body"] is not None else export.body
    body = encode_body(raw, context, where, "body", export.sends_json)
    if body is not None and export.sends_json and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    return export.method, path, query, headers, body


def encode_body(raw: Any, context: Mapping[str, Any], where: Where, field: str, as_json: bool) -> bytes | None:
    """A body template rendered to bytes; text that should be JSON is checked to be JSON."""
    if raw is None:
        return None
    if isinstance(raw, str):
        text = _templates.render(raw, context, where, field)
        if as_json:
            try:
                orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                raise InvalidInput(
                    f"{where}: {field}: renders to text that is not JSON ({exc}): {shown(text)}",
                    code="EXPRESSION_FAILED",
                    details={"resource": where.kind, "name": where.name, "field": field},
                    hint='set body_format="text" to send it as it is',
                ) from None
        return text.encode()
    return orjson.dumps(_templates.render_value(raw, context, where, field))


def _needs_previous(export: Export) -> bool:
    return any(_templates.mentions(v, "previous_page") for v in (export.path, export.query, export.headers,
                                                                  export.body))  # fmt: skip


# --- the response --------------------------------------------------------------------------


def api_failure(where: Where, method: str, answer: HttpAnswer, reason: str) -> ApiError:
    return ApiError(
        f"{where}: {method} {answer.url} {reason}",
        details={"status": answer.status, "data": answer.text(MAX_ERROR_BODY)},
    )


def _checked(export: Export, method: str, answer: HttpAnswer) -> Any:
    """The parsed body of a successful answer; ApiError for a failure the API reported."""
    where = export.where
    if not 200 <= answer.status < 300:
        raise api_failure(where, method, answer, f"answered {answer.status}: {answer.text(MAX_ERROR_BODY)}")
    try:
        body = answer.json()
    except ValueError:
        raise api_failure(where, method, answer, f"answered with a body that is not JSON: {answer.text(200)}") from None
    message = get_path(body, export.error_path) if export.error_path else MISSING
    said = f": {as_text(message)}" if message not in (MISSING, None, "") else ""
    if export.success_path is not None:
        value = get_path(body, export.success_path)
        ok = as_text(value) in export.success_values if export.success_values else value not in (MISSING, None, False)
        if value is MISSING or not ok:
            raise api_failure(where, method, answer, f"failed: success_path {export.success_path!r} is "
                              f"{'missing' if value is MISSING else shown(value)}{said}")  # fmt: skip
    if export.fail_path is not None:
        value = get_path(body, export.fail_path)
        failed = as_text(value) in export.fail_values if export.fail_values else value not in (MISSING, None, False)
        if value is not MISSING and failed:
            raise api_failure(where, method, answer, f"failed: fail_path {export.fail_path!r} is {shown(value)}{said}")
    if said:
        raise api_failure(where, method, answer, f"failed{said}")
    return body


def _file_records(export: Export, file: FileDefinition, method: str, answer: HttpAnswer) -> list[Any]:
    """The answer read as a file of ``file``'s format (a record per row, line or transaction set)."""
    if not 200 <= answer.status < 300:
        raise api_failure(export.where, method, answer, f"answered {answer.status}: {answer.text(MAX_ERROR_BODY)}")
    return file.parse(answer.content)


def _records(export: Export, body: Any) -> list[Any]:
    found = body if export.records_path is None else get_path(body, export.records_path)
    if found is MISSING:
        keys = ", ".join(map(str, list(body)[:20])) if isinstance(body, dict) else f"the body is {shown(body)}"
        raise ApiError(
            f"{export.where}: records_path {export.records_path!r} is not in the response (its keys: {keys})",
            details={"records_path": export.records_path},
            hint="point records_path at the list of records, e.g. 'data' or 'response.items'",
        )
    if found is None:
        return []
    return found if isinstance(found, list) else [found]
