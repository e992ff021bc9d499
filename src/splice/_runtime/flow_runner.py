"""Running a flow: its steps in order, each finished one checkpointed, resumable after a crash.

A flow run is a run row (kind ``flow``); each step is a child run of it (``parent_id``), with
the step's key in ``step``: its name, or ``"Each order[2]/Check order"`` inside a loop. A code
step runs its function in a sandboxed child like any script; an action step runs the action
as a nested run; a branch's choice and a loop's list are rows too. **The child runs are the
checkpoints**: an attempt first reads which steps of its run already succeeded and reuses
their results, so after a crash the run resumes at the first unfinished step and a finished
step never runs again. The step that was running when the worker died is run again (a new
attempt of it; the dead one is ``WORKER_LOST``).

Per step: ``retries`` (constant or exponential backoff, at least a rate-limited API's
``Retry-After``), ``continue_on_error`` (the flow goes on; the step's result is
``{"error": ...}``), ``time_limit``. When a step fails the flow — it raised, timed out, was
killed for memory, or an expression (a branch's condition, an action's input, a loop's items)
failed — the flow's ``on_error`` steps always run, seeing ``error`` and every result so far;
then the run ends ``failed`` with the step's error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from splice._runtime.request import LogCallback, RunRequest, new_run_id
from splice._runtime.resource_runs import (
    attachments,
    import_summary,
    record_error,
    resolve,
    resource_request,
    resource_script,
)
from splice._runtime.sessions import SessionPool
from splice.errors import InvalidInput, PaginationError, RateLimitExceeded, SpliceError, error_from_dict
from splice.flows import ActionStep, BranchStep, CodeStep, Flow, ForEachStep, Step, _expr, camel_case, snake_case, walk
from splice.flows._check import step_action, step_function
from splice.flows._resource_steps import MAX_PAGES, ExportStep, ImportStep
from splice.integration import Integration, Script
from splice.project import Project
from splice.resources import poll_wait, waiting
from splice.store import Connection, RunRecord
from splice.store._state import connection_scope_id

if TYPE_CHECKING:
    from splice._runtime.runner import Runner

logger = logging.getLogger("splice.flows")
#: the largest result a step may keep (it is stored, and every later step may read it)
MAX_STEP_RESULT_BYTES = 4 * 1024 * 1024
_FINISHED = ("succeeded", "failed", "timed_out", "cancelled")


class StepFailed(Exception):
    """A step failed the flow (no retries left, no ``continue_on_error``)."""

    def __init__(self, step: Step, key: str, error: SpliceError) -> None:
        super().__init__(f"step {key!r} failed: {error.message}")
        self.step = step
        self.key = key
        self.error = error

    def to_dict(self) -> dict[str, Any]:
        """What ``on_error`` steps see as ``error`` (and the flow run's stored error)."""
        return {**self.error.to_dict(), "step": self.step.name, "key": self.key}


@dataclass(slots=True)
class Scope:
    """What a step sees: results so far (its loop iteration's own on top), and the loop's item."""

    results: dict[str, Any]
    prefix: str = ""
    item: Any = None
    index: int | None = None
    error: dict[str, Any] | None = None

    def inner(self, prefix: str, item: Any, index: int) -> Scope:
        return Scope(dict(self.results), prefix, item, index, self.error)


@dataclass(slots=True)
class _Done:
    """A step's finished child runs: the latest result, and how many attempts it had."""

    results: dict[str, Any] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)


class FlowAttempt:
    """One attempt of one flow run (the first, or one resuming it after a crash or for a retry)."""

    def __init__(
        self,
        runner: Runner,
        flow: Flow,
        record: RunRecord,
        connections: Mapping[str, Connection | None],
        project: Project,
        *,
        api_headers: Mapping[str, str] | None = None,
        on_log: LogCallback | None = None,
    ) -> None:
        """``project``: the version the steps' scripts come from, held by the caller for the
        attempt (:meth:`Versions.hold <splice._runtime.versions.Versions.hold>`)."""
        self.runner = runner
        self.project = project
        #: added to every request its steps send (the chain of flows that led here)
        self.api_headers = api_headers
        self.flow = flow
        self.record = record
        self.connections = connections
        self.on_log = on_log
        self.payload = (record.input or {}).get("payload")
        self.done = _Done()
        self.last: Any = None
        settings = self.project.config.runtime
        #: children kept between this run's code steps, one per connection (and per loop lane)
        self.sessions = SessionPool(cpu_seconds=int(settings.sync_time_limit) + 2)
        #: step rows written without waiting (see :attr:`RunRequest.deferred`); all committed
        #: before the attempt ends
        self.pending: list[asyncio.Future[None]] = []

    async def run(self) -> tuple[Any, dict[str, Any] | None]:
        """The flow's result (its last top-level step's) or the error that failed it."""
        self.done = await self._finished_steps()
        scope = Scope(results={})
        try:
            for one in self.flow.steps:
                self.last = await self.step(one, scope)
        except StepFailed as failure:
            error = failure.to_dict()
            await self._on_error(scope, error)
            return None, error
        finally:
            await self.sessions.close()
            await asyncio.gather(*self.pending)
        return self.last, None

    async def _on_error(self, scope: Scope, error: dict[str, Any]) -> None:
        """Every on_error step, each failure of theirs logged and the next one still run."""
        handler = Scope(results=dict(scope.results), error=error)
        for one in self.flow.on_error:
            try:
                await self.step(one, handler)
            except StepFailed as failure:
                logger.warning("flow run %s: on_error step %r failed: %s", self.record.id, one.name, failure)

    # --- one step ----------------------------------------------------------------------------

    async def step(self, step: Step, scope: Scope) -> Any:
        key = scope.prefix + step.name
        if key in self.done.results:
            result = self.done.results[key]
            if isinstance(step, ImportStep):  # its run keeps each record's result; the step, their counts
                result = import_summary(result.get("results", []))
        else:
            result = await self._attempts(step, scope, key)
        scope.results[step.name] = result
        return result

    async def _attempts(self, step: Step, scope: Scope, key: str) -> Any:
        attempt = self.done.attempts.get(key, 0)
        while True:
            attempt += 1
            try:
                return await self._execute(step, scope, key, attempt)
            except SpliceError as error:
                retries_used = attempt - 1 - self.done.attempts.get(key, 0)
                if retries_used < step.retry.attempts and error.retryable and not isinstance(step, _NOT_RETRIED):
                    await asyncio.sleep(step.retry.wait(retries_used + 1, _retry_after(error)))
                    continue
                if step.continue_on_error:
                    return {"error": error.to_dict()}
                raise StepFailed(step, key, error) from None

    async def _execute(self, step: Step, scope: Scope, key: str, attempt: int) -> Any:
        if isinstance(step, CodeStep):
            return await self._code(step, scope, key, attempt)
        if isinstance(step, ActionStep):
            return await self._action(step, scope, key, attempt)
        if isinstance(step, BranchStep):
            return await self._branch(step, scope, key, attempt)
        if isinstance(step, ForEachStep):
            return await self._for_each(step, scope, key, attempt)
        if isinstance(step, ExportStep):
            return await self._export(step, scope, key, attempt)
        if isinstance(step, ImportStep):
            return await self._import(step, scope, key, attempt)
        raise InvalidInput(f"step {step.name!r}: this worker cannot run {step.type} steps", code="INVALID_FLOW")

    async def _code(self, step: CodeStep, scope: Scope, key: str, attempt: int) -> Any:
        script = step_function(self.project.integrations, self._home, step)
        given = {"results": scope.results, "trigger": self.payload, "item": scope.item, "index": scope.index,
                 "error": scope.error}  # fmt: skip
        shown = {"step_results": list(scope.results), **_loop(scope)}
        if scope.error is not None:
            shown["error"] = scope.error
        request = RunRequest(script=script, connection=self._connection(script.integration), input=given,
                             shown_input=shown, time_limit=step.time_limit, sessions=self.sessions)  # fmt: skip
        return await self._child(request, step, key, attempt)

    async def _action(self, step: ActionStep, scope: Scope, key: str, attempt: int) -> Any:
        script = step_action(self.project.integrations, self._home, step)
        value = await self.evaluate(step.input, scope)
        request = await self.runner.request(script, connection=self._connection_id(script.integration), input=value)
        return await self._child(replace(request, time_limit=step.time_limit), step, key, attempt)

    async def _child(self, request: RunRequest, step: Step, key: str, attempt: int) -> Any:
        request = replace(request, parent_id=self.record.id, attempt=attempt, deferred=self.pending,
                          api_headers=self.api_headers,
                          background=True, flow=self.flow.id, step=key, on_log=self.on_log)  # fmt: skip
        run = await self.runner.run(request)
        if run.status != "succeeded":
            raise error_from_dict(run.error or {})
        _check_size(step, run.output)
        return run.output

    async def _branch(self, step: BranchStep, scope: Scope, key: str, attempt: int) -> Any:
        chosen: int | str | None = None
        for index, case in enumerate(step.cases):
            if await self.evaluate(case.when, scope):
                chosen = index
                break
        if chosen is None and step.otherwise:
            chosen = "otherwise"
        result = {"case": chosen}
        await self._structural(step, key, attempt, {"cases": len(step.cases)}, result)
        steps = step.cases[chosen].steps if isinstance(chosen, int) else step.otherwise if chosen else ()
        for one in steps:
            await self.step(one, scope)
        return result

    async def _for_each(self, step: ForEachStep, scope: Scope, key: str, attempt: int) -> Any:
        items = await self.evaluate(step.items, scope)
        if items is None:
            items = []
        if not isinstance(items, list):
            raise InvalidInput(
                f"for-each {step.name!r}: items {step.items.source!r} gave {type(items).__name__}, not a list",
                code="EXPRESSION_FAILED",
                details={"expression": step.items.source, "step": step.name},
            )
        lanes = asyncio.Semaphore(step.concurrency)

        async def iteration(index: int, item: Any) -> Any:
            async with lanes:
                inner = scope.inner(f"{key}[{index}]/", item, index)
                last = None
                for one in step.steps:
                    last = await self.step(one, inner)
                return last

        tasks = [asyncio.ensure_future(iteration(i, item)) for i, item in enumerate(items)]
        try:
            results = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        _check_size(step, results)
        await self._structural(step, key, attempt, {"items": len(items)}, list(results))
        return list(results)

    async def _export(self, step: ExportStep, scope: Scope, key: str, attempt: int) -> Any:
        """Each page a child run (its checkpoint, retried as the step says), then ``then`` with
        the page's records as ``item``; the result counts pages, records and record errors.

        The next page is fetched while ``then`` handles this one (two children, two cores); a
        crash between the two leaves a fetched page whose ``then`` has not run, which the next
        attempt runs from its checkpoint.

        With an async helper, the submit and each status poll are pages without records (their
        ``then`` does not run): the job id is in a checkpoint from the submit on, so a resumed
        attempt polls the same job, after the wait the last poll asked for."""
        project, store = self.project, self.runner.store
        export = await resolve(project, store, "export", self._resource_id(step.export))
        script = resource_script(project.integration(export.integration), "export", export.name)
        conn = self._connection(script.integration)
        window = await self._delta(export, conn) if export.delta is not None else {}
        attached = await attachments(project, store, export)

        async def fetch(index: int, state: Any) -> Any:
            page_key = f"{key}[{index}]"
            page = self.done.results.get(page_key)
            if page is None:
                await asyncio.sleep(poll_wait(state))
                request = resource_request(script, export, conn, {"paged_export_state": state, **window},
                                           {"paged_export_state": state}, time_limit=step.time_limit,
                                           sessions=self.sessions, attached=attached)  # fmt: skip
                page = self.done.results[page_key] = await self._page(request, step, page_key, attempt)
            return page

        totals = {"pages": 0, "records": 0, "errors": 0, "failed_records": 0}
        following: asyncio.Task[Any] | None = asyncio.ensure_future(fetch(0, None))
        try:
            for index in range(MAX_PAGES):
                assert following is not None
                page = await following
                state = page["paged_export_state"]
                following = asyncio.ensure_future(fetch(index + 1, state)) if state is not None else None
                if waiting(state):
                    continue
                inner = scope.inner(f"{key}[{totals['pages']}]/", page["data"], totals["pages"])
                for one in step.then:
                    result = await self.step(one, inner)
                    if isinstance(one, ImportStep) and isinstance(result, dict):
                        totals["failed_records"] += result.get("failed", 0)
                totals["pages"] += 1
                totals["records"] += len(page["data"])
                totals["errors"] += len(page["errors"])
                if following is None:
                    if window and not totals["errors"]:  # the next window starts where a clean run ended
                        await self.runner.store.state.put(*_delta_key(export, conn), window["end_date"])
                    await self._structural(step, key, attempt, {"export": step.export, **window}, totals)
                    return totals
        finally:
            if following is not None and not following.done():
                following.cancel()
                await asyncio.gather(following, return_exceptions=True)
        raise PaginationError(f"export step {step.name!r} pulled {MAX_PAGES:,} pages without reaching the last",
                              code="PAGING_LOOP", details={"step": step.name})  # fmt: skip

    async def _delta(self, export: Any, conn: Connection | None) -> dict[str, Any]:
        """A delta export's window: from the last successful run's end (none the first time: every
        record) to this flow run's start (the same in every attempt of it)."""
        last = await self.runner.store.state.get(*_delta_key(export, conn))
        return {"start_date": last, "end_date": self.record.created_at.isoformat() if self.record.created_at else None}

    async def _page(self, request: RunRequest, step: ExportStep, key: str, attempt: int) -> Any:
        """One export page, retried (with backoff) as many times as the step's retries say."""
        for retry in range(step.retry.attempts + 1):
            try:
                return await self._child(request, step, key, attempt + retry)
            except SpliceError as error:
                if retry == step.retry.attempts or not error.retryable:
                    raise
                await asyncio.sleep(step.retry.wait(retry + 1, _retry_after(error)))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _import(self, step: ImportStep, scope: Scope, key: str, attempt: int) -> Any:
        """The records ``data`` gives, sent through the import as one child run; the result counts
        them, and the run keeps each failed record as a record error with its retry data."""
        import_ = await resolve(self.project, self.runner.store, "import", self._resource_id(step.import_))
        records = await self.evaluate(step.data, scope)
        if not isinstance(records, list):
            raise InvalidInput(
                f"import step {step.name!r}: data {step.data.source!r} gave {type(records).__name__}, not a list",
                code="EXPRESSION_FAILED", details={"expression": step.data.source, "step": step.name},
            )  # fmt: skip
        script = resource_script(self.project.integration(import_.integration), "import", import_.name)
        attached = await attachments(self.project, self.runner.store, import_)
        request = resource_request(script, import_, self._connection(script.integration),
                                   {"data": records, "lean": True}, {"records": len(records)},
                                   time_limit=step.time_limit, sessions=self.sessions, attached=attached)  # fmt: skip
        request = replace(request, parent_id=self.record.id, attempt=attempt, api_headers=self.api_headers,
                          background=True, flow=self.flow.id, step=key, on_log=self.on_log)  # fmt: skip
        run = await self.runner.run(request)
        if run.status != "succeeded":
            raise error_from_dict(run.error or {})
        results = (run.output or {}).get("results", [])
        await self.runner.store.run_errors.add(run.id, [record_error(r) for r in results if r.get("retry_data")])
        summary = import_summary(results)
        if step.fail_on_errors and summary["failed"]:
            raise InvalidInput(
                f"import step {step.name!r}: {summary['failed']} of {summary['records']} records failed",
                code="RECORDS_FAILED", details={"step": step.name, "run_id": run.id, **summary},
                hint=f"splice runs errors {run.id} lists them; splice runs retry-errors {run.id} retries them",
            )  # fmt: skip
        return summary

    def _resource_id(self, ref: str) -> str:
        return ref if "." in ref else f"{self.flow.integration}.{ref}"

    # --- helpers -----------------------------------------------------------------------------

    async def evaluate(self, value: Any, scope: Scope) -> Any:
        data = {
            "trigger": {"payload": self.payload},
            "steps": _by_names(scope.results),
            "config": self._config(),
            **_loop(scope),
        }
        if scope.error is not None:
            data["error"] = scope.error
        return await asyncio.get_running_loop().run_in_executor(_EVALUATOR, _expr.resolve, value, data)

    async def _structural(self, step: Step, key: str, attempt: int, input: Any, output: Any) -> None:
        """A branch's choice or a loop's list, stored as the step's child run (its checkpoint)."""
        now = datetime.now(UTC)
        record = RunRecord(
            id=new_run_id(), kind=step.type, integration=self.flow.integration, script=self.flow.name,
            connection_id=self.record.connection_id, status="succeeded", input=input, output=output,
            attempt=attempt, parent_id=self.record.id, created_at=now, started_at=now, finished_at=now,
            duration_ms=0.0, owner=self.runner.owner, step=key,
        )  # fmt: skip
        self.pending.append(self.runner.store.runs.create_later(record))

    async def _finished_steps(self) -> _Done:
        done = _Done()
        children = await self.runner.store.runs.find(parent_id=self.record.id, limit=100_000)
        for child in reversed(children):  # oldest first: a later attempt's result wins
            if child.step is None:
                continue
            done.attempts[child.step] = max(done.attempts.get(child.step, 0), child.attempt)
            if child.status == "succeeded" and child.kind not in ("branch", "for_each"):
                done.results[child.step] = child.output
        return done

    @property
    def _home(self) -> Integration:
        return self.project.integration(self.flow.integration)

    def _connection(self, integration: Integration) -> Connection | None:
        return self.connections.get(integration.name)

    def _connection_id(self, integration: Integration) -> str | None:
        conn = self.connections.get(integration.name)
        return conn.id if conn is not None else None

    def _config(self) -> dict[str, Any]:
        conn = self.connections.get(self.flow.integration)
        return self._home.resolve_config(conn.config) if conn is not None else {}


#: steps a failure does not retry whole: a branch (its steps have their own retries), an export
#: (each page is retried on its own, so finished pages and their imports are not done again)
_NOT_RETRIED = (BranchStep, ExportStep)


#: one thread evaluates every expression of this process (see :mod:`splice.flows._expr`)
_EVALUATOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="splice-expressions")


def _by_names(results: Mapping[str, Any]) -> dict[str, Any]:
    """Results as expressions see them: by snake_case, camelCase and the name itself."""
    named: dict[str, Any] = {}
    for name, value in results.items():
        for key in (snake_case(name), camel_case(name), name):
            named.setdefault(key, value)
    return named


def _loop(scope: Scope) -> dict[str, Any]:
    return {"item": scope.item, "index": scope.index} if scope.index is not None else {}


def _delta_key(export: Any, conn: Connection | None) -> tuple[str, str, str]:
    """Where a delta export keeps its last successful run's time: per connection (it goes with it)."""
    return "delta", connection_scope_id(export.integration, conn.id if conn else "", export.name), "last_export"


def _retry_after(error: SpliceError) -> float | None:
    if not isinstance(error, RateLimitExceeded):
        return None
    for name, value in (error.headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return float(value)
            except ValueError:
                return None
    return None


def _check_size(step: Step, result: Any) -> None:
    size = len(orjson.dumps(result))  # a run's output: already plain JSON, checked where the run returned it
    if size > MAX_STEP_RESULT_BYTES:
        raise InvalidInput(
            f"step {step.name!r} returned {size:,} bytes of JSON; a step keeps at most {MAX_STEP_RESULT_BYTES:,}",
            code="STEP_RESULT_TOO_LARGE",
            details={"step": step.name, "bytes": size, "limit_bytes": MAX_STEP_RESULT_BYTES},
            hint="return less (a reference to your own storage), or split the work into more steps",
        )


def integrations_of(flow: Flow, integrations: Mapping[str, Integration]) -> list[Integration]:
    """Every integration whose connection the flow's steps use, the flow's own first."""
    home = integrations[flow.integration]
    used: dict[str, Integration] = {home.name: home}
    for one in walk((*flow.steps, *flow.on_error)):
        script: Script | None = None
        if isinstance(one, CodeStep):
            script = step_function(integrations, home, one)
        elif isinstance(one, ActionStep):
            script = step_action(integrations, home, one)
        if script is not None:
            used.setdefault(script.integration.name, script.integration)
        if isinstance(one, ExportStep | ImportStep):
            ref = one.export if isinstance(one, ExportStep) else one.import_
            owner = ref.rpartition(".")[0] or home.name
            if owner in integrations:
                used.setdefault(owner, integrations[owner])
    return list(used.values())
