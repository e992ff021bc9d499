"""Async helpers (Celigo's): for APIs that answer a request with "job accepted" instead of data.

An import with ``async_helper=`` sends each batch as a submit and waits for the job within its
run (the status answer, or the result request's, is then the batch's answer). An export with
``async_helper=`` sends its own request as the **submit**, reads the job id
from the answer (``job_id_path``), **polls** the status request until the value at
``status_value_path`` is one of ``done_values`` (or ``failed_values``: the job failed), then
fetches the **result** (``result_path``, paged like an export; without one, the last status
answer holds the records). Every phase is a page of the export: the submit and each poll
come back as a page with no records whose ``paged_export_state`` carries the job, so the job
id is durable wherever pages are (a flow's checkpoint, a caller's hands) and nothing is ever
submitted twice — a worker that dies while waiting resumes polling the same job.
:func:`poll_wait` says how long to wait before the next page; the caller sleeps (a flow run
outside any child process).

>>> bulk = AsyncHelper(name="bulk", integration="acme", job_id_path="job.id",
...                    status_path="/jobs/{{ job_id }}", result_path="/jobs/{{ job_id }}/result")
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from splice.errors import ApiError, AsyncJobError, InvalidInput
from splice.resources import _templates
from splice.resources._check import MISSING, Where, as_text, from_document, get_path, shown
from splice.resources._export import HTTP_METHODS, Export
from splice.resources._import import Import
from splice.resources._paging import Paging

#: the longest wait between polls, and the longest a job may take (a day)
MAX_POLL_INTERVAL = 3600.0
MAX_TIME_LIMIT = 86_400.0


@dataclass(frozen=True, slots=True, kw_only=True)
class AsyncHelper:
    """How an API's asynchronous jobs are followed: submit answer → status polls → result."""

    name: str
    integration: str
    job_id_path: str
    status_path: str
    status_method: str = "GET"
    status_value_path: str = "status"
    done_values: tuple[str, ...] = ("done",)
    failed_values: tuple[str, ...] = ("failed",)
    #: when given, a status outside done, failed and these is an error (not "still running")
    in_progress_values: tuple[str, ...] = ()
    poll_interval: float = 5.0
    time_limit: float = 300.0
    result_path: str | None = None
    result_method: str = "GET"
    result_records_path: str | None = None
    result_paging: Paging | None = None
    headers: dict[str, str] = field(default_factory=dict)
    external_id: str | None = None

    def __post_init__(self) -> None:
        self.check()

    @property
    def where(self) -> Where:
        return Where("async helper", self.name)

    def check(self) -> None:
        where = self.where
        for name in ("name", "integration", "job_id_path", "status_path", "status_value_path"):
            where.string(getattr(self, name), name)
        where.choice(self.status_method, "status_method", HTTP_METHODS, "HTTP method")
        where.choice(self.result_method, "result_method", HTTP_METHODS, "HTTP method")
        for name in ("result_path", "result_records_path", "external_id"):
            where.optional_string(getattr(self, name), name)
        if not where.strings(self.done_values, "done_values"):
            raise where.invalid("done_values", "must name at least one value", hint='e.g. ["done", "complete"]')
        where.strings(self.failed_values, "failed_values")
        where.strings(self.in_progress_values, "in_progress_values")
        _seconds(where, self.poll_interval, "poll_interval", 0.01, MAX_POLL_INTERVAL)
        _seconds(where, self.time_limit, "time_limit", 0.01, MAX_TIME_LIMIT)
        where.string_map(self.headers, "headers")
        if self.result_paging is not None:
            if not isinstance(self.result_paging, Paging):
                raise where.invalid("result_paging", f"must be a Paging, not {type(self.result_paging).__name__}")
            self.result_paging.check(where)
        for name in ("status_path", "result_path", "headers"):
            _templates.check(getattr(self, name), where, name)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "integration": self.integration, "job_id_path": self.job_id_path,
                                "status_path": self.status_path}  # fmt: skip
        for name, default in _DEFAULTS.items():
            value = getattr(self, name)
            if value != default:
                data[name] = value.to_json() if isinstance(value, Paging) else list(value) if isinstance(
                    value, tuple) else value  # fmt: skip
        return data

    @classmethod
    def from_json(cls, data: Any) -> AsyncHelper:
        where, values = from_document("async helper", data, _KEYS, required=_REQUIRED)
        if values.get("result_paging") is not None:
            values["result_paging"] = Paging.from_json(values["result_paging"], where)
        for name in ("done_values", "failed_values", "in_progress_values"):
            if name in values:
                values[name] = where.strings(values[name], name)
        return cls(**values)


_DEFAULTS: dict[str, Any] = {
    "status_method": "GET", "status_value_path": "status", "done_values": ("done",), "failed_values": ("failed",),
    "in_progress_values": (), "poll_interval": 5.0, "time_limit": 300.0, "result_path": None, "result_method": "GET",
    "result_records_path": None, "result_paging": None, "headers": {}, "external_id": None,
}  # fmt: skip
_REQUIRED = ("name", "integration", "job_id_path", "status_path")
_KEYS = {*_REQUIRED, *_DEFAULTS}


def _seconds(where: Where, value: Any, name: str, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise where.invalid(name, f"must be {low:g} to {high:g} seconds, not {shown(value)}")


# --- the job, as an export's paged state ----------------------------------------------------


def poll_wait(state: Mapping[str, Any] | None, now: float | None = None) -> float:
    """Seconds to wait before fetching the page ``state`` points at (0: fetch it now)."""
    job = state.get(JOB) if isinstance(state, Mapping) else None
    if not isinstance(job, Mapping) or job.get("phase") != "status":
        return 0.0
    return max(0.0, float(job.get("next_poll_at", 0)) - (time.time() if now is None else now))


def waiting(state: Mapping[str, Any] | None) -> bool:
    """Whether ``state`` points at a poll of a job that is not done yet (its page has no records)."""
    job = state.get(JOB) if isinstance(state, Mapping) else None
    return isinstance(job, Mapping) and job.get("phase") == "status"


#: the key of an export's paged state that carries its async job
JOB = "async_job"


def submitted(helper: AsyncHelper, export: Export | Import, body: Any, now: float) -> dict[str, Any]:
    """The state after the submit answer: the job id, when it was submitted, the first poll's time."""
    job_id = get_path(body, helper.job_id_path)
    if job_id in (MISSING, None, "") or isinstance(job_id, dict | list):
        keys = ", ".join(map(str, list(body)[:20])) if isinstance(body, dict) else f"the body is {shown(body)}"
        raise ApiError(
            f"{export.where}: async helper {helper.name!r}: the submit answer has no job id at job_id_path "
            f"{helper.job_id_path!r} (its keys: {keys})",
            details={"job_id_path": helper.job_id_path},
            hint="point job_id_path at the job's id in the answer, e.g. 'job.id'",
        )
    return {JOB: {"job_id": as_text(job_id), "phase": "status", "submitted_at": now, "polls": 0,
                  "next_poll_at": now + helper.poll_interval}}  # fmt: skip


def check_job(state: Any, where: Where) -> dict[str, Any]:
    """A job state handed back by a caller: refused unless it is one this export handed out."""
    job = state.get(JOB) if isinstance(state, Mapping) else None
    if (
        not isinstance(job, Mapping)
        or not isinstance(job.get("job_id"), str)
        or job.get("phase") not in ("status", "result")
        or not isinstance(job.get("submitted_at"), int | float)
        or not isinstance(job.get("polls"), int)
    ):
        raise InvalidInput(
            f"{where}: paged_export_state is not a state this export handed out: {shown(state)}",
            code="INVALID_CURSOR",
            hint="pass back the paged_export_state of the previous page unchanged",
        )
    return dict(job)


def status_of(helper: AsyncHelper, export: Export | Import, job: dict[str, Any], body: Any, now: float) -> str:
    """``"done"`` or ``"waiting"`` for a status answer; raises for a failed job, one past its
    time limit, or (with ``in_progress_values``) a status that is none of the known ones."""
    value = get_path(body, helper.status_value_path)
    text = None if value is MISSING else as_text(value)
    name = f"{export.where}: async helper {helper.name!r}: job {job['job_id']!r}"
    details = {"job_id": job["job_id"], "status": value if value is not MISSING else None, "polls": job["polls"]}
    if text in helper.done_values:
        return "done"
    if text in helper.failed_values:
        raise AsyncJobError(
            f"{name} failed: {helper.status_value_path} is {shown(value)}",
            code="ASYNC_JOB_FAILED",
            details=details,
            hint="the API failed the job; see why there, then run it again",
        )
    if helper.in_progress_values and text not in helper.in_progress_values:
        known = [*helper.done_values, *helper.failed_values, *helper.in_progress_values]
        raise AsyncJobError(
            f"{name}: {helper.status_value_path} is {'missing' if value is MISSING else shown(value)}, none of "
            f"the known values ({', '.join(known)})",
            code="ASYNC_STATUS_UNKNOWN", details={**details, "known": known},
            hint="add the value to done_values, failed_values or in_progress_values, or fix status_value_path",
        )  # fmt: skip
    if now - job["submitted_at"] >= helper.time_limit:
        raise AsyncJobError(
            f"{name} is not done after {helper.time_limit:g} s ({job['polls'] + 1} polls; the last status: "
            f"{'missing' if value is MISSING else shown(value)})",
            code="ASYNC_TIME_LIMIT", details=details,
            hint="raise the async helper's time_limit, or check the job on the API",
        )  # fmt: skip
    return "waiting"


def status_request(
    helper: AsyncHelper, headers: Mapping[str, str], job: Mapping[str, Any], context: dict[str, Any]
) -> Any:
    """(method, path, headers) of a status poll (``headers``: the resource's, then the helper's);
    templates see ``job_id`` and the resource's context."""
    where = helper.where
    scope = {**context, "job_id": job["job_id"]}
    headers = {**headers, **helper.headers}
    rendered = {k: _templates.render(v, scope, where, f"headers.{k}") for k, v in headers.items()}
    return helper.status_method, _templates.render(helper.status_path, scope, where, "status_path"), rendered


def result_export(helper: AsyncHelper, export: Export, job_id: str, context: dict[str, Any]) -> Export:
    """The result request as an export of its own (its path rendered with the job id; its paging)."""
    scope = {**context, "job_id": job_id}
    assert helper.result_path is not None
    path = _templates.render(helper.result_path, scope, helper.where, "result_path")
    return replace(export, path=_literal(path), method=helper.result_method, query={}, body=None,
                   headers={**export.headers, **helper.headers},
                   records_path=helper.result_records_path or export.records_path, paging=helper.result_paging,
                   success_path=None, success_values=(), fail_path=None, fail_values=(), delta=None)  # fmt: skip


def _literal(text: str) -> str:
    """``text`` as a template that renders to itself (a job id may hold ``{{``)."""
    return text if "{" not in text else "{% raw %}" + text.replace("{% endraw %}", "") + "{% endraw %}"


__all__ = ["JOB", "AsyncHelper", "poll_wait", "waiting"]
