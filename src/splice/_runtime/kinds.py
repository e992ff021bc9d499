"""Kinds of run: what differs between an action, a sync and a trigger, in one place each.

A :class:`RunKind` says how a kind's input is checked and handed to the script, which ``ctx``
capabilities it gets, its default time limit, how often a failed job of it is retried and
whether two of it may run at once for one connection. The runner, the child, ``ctx`` and
the engine ask the kind; nothing else tests ``script.kind``. A new kind (a flow step, a
hook) is a new subclass registered in :data:`KINDS`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ValidationError

from splice._runtime.capability import ACTIONS, CHECKPOINT, ENGINE, HTTP, METADATA, RECORDS, STATE, STEP_RESULTS
from splice._validation import describe_validation, validation_errors
from splice.context._step_results import StepResults
from splice.errors import Conflict, InvalidInput
from splice.triggers import WebhookRequest, WebhookResponse
from splice.triggers._response import is_payload_shape

if TYPE_CHECKING:
    from splice.config import RuntimeSection
    from splice.context import Context
    from splice.integration import Script
    from splice.store import Connection, Store

_COMMON = frozenset({HTTP.name, STATE.name, METADATA.name, ACTIONS.name, ENGINE.name})


class RunKind:
    """The default behaviour; a kind overrides what differs."""

    name: ClassVar[str]
    #: the ``ctx`` capabilities a script of this kind gets
    capabilities: ClassVar[frozenset[str]] = _COMMON
    #: runs of this kind never have a caller waiting (the generous rate-limit budget)
    background: ClassVar[bool] = False
    #: a run of this kind may be queued as a background job
    queueable: ClassVar[bool] = True
    #: splice's own code builds the output from JSON it decoded, so it needs no walk before
    #: encoding to find a string too large to encode (see ``child._at_least``)
    builds_output: ClassVar[bool] = False

    def check_request(self, script: Script, raw: Any) -> None:
        """Refuse a run this kind never takes, before its connection is even looked up."""

    def check_input(self, script: Script, raw: Any) -> None:
        """Refuse a bad input before any run is stored (the child parses it again)."""
        self.parse_input(script, raw)

    def parse_input(self, script: Script, raw: Any) -> Any:
        return raw

    async def invoke(self, script: Script, ctx: Context, raw: Any) -> Any:
        return await script.fn(ctx, self.parse_input(script, raw))

    def result(self, script: Script, returned: Any) -> Any:
        """What the script returned, before the output model and size checks."""
        return returned

    def time_limit(self, script: Script, settings: RuntimeSection) -> float:
        return script.time_limit or settings.time_limit

    def retries(self, script: Script) -> int:
        """Retries of a failed job attempt (the engine backs off ``script.retry_delay``, doubling)."""
        return 0

    def job_dedup(self, script: Script, connection: str | None) -> str | None:
        """A key no two queued or running jobs may share (none: any number may queue)."""
        return None

    @contextlib.asynccontextmanager
    async def exclusive(self, store: Store, script: Script, conn: Connection | None, owner: str) -> AsyncIterator[None]:
        """Held while a run of this kind executes; refuses one that must not run alongside another."""
        yield


class ActionKind(RunKind):
    name = "action"

    def parse_input(self, script: Script, raw: Any) -> Any:
        """The action's input as its declared model; a clear error naming the bad field."""
        if script.input is None:
            return raw
        try:
            return script.input.model_validate(raw if raw is not None else {})
        except ValidationError as exc:
            raise InvalidInput(
                f"invalid input for {script.qualname}: {describe_validation(exc)}",
                details={"errors": validation_errors(exc)},
            ) from None


class SyncKind(RunKind):
    name = "sync"
    capabilities = _COMMON | {RECORDS.name, CHECKPOINT.name}
    background = True

    def check_request(self, script: Script, raw: Any) -> None:
        if raw is not None:
            raise InvalidInput(f"{script.qualname} is a sync; syncs take no input")

    async def invoke(self, script: Script, ctx: Context, raw: Any) -> Any:
        return await script.fn(ctx)

    def time_limit(self, script: Script, settings: RuntimeSection) -> float:
        return script.time_limit or settings.sync_time_limit

    def retries(self, script: Script) -> int:
        return script.retries

    def job_dedup(self, script: Script, connection: str | None) -> str | None:
        return f"{script.qualname}:{connection}"

    @contextlib.asynccontextmanager
    async def exclusive(self, store: Store, script: Script, conn: Connection | None, owner: str) -> AsyncIterator[None]:
        async with store.locks.lease(sync_lock(script, conn), owner) as ours:
            if not ours:
                raise Conflict(
                    f"{script.qualname} is already running for connection {conn.id if conn else '-'}",
                    code="SYNC_RUNNING",
                    hint="wait for that run to finish; a sync runs at most once per connection at a time",
                )
            yield


class TriggerKind(RunKind):
    name = "trigger"
    queueable = False

    def check_request(self, script: Script, raw: Any) -> None:
        """A trigger runs when its webhook is called, never by name."""
        raise InvalidInput(
            f"{script.qualname} is a trigger; it runs when its webhook is called",
            hint=f"POST to /webhooks/{script.integration.name}/{script.name}, or call Runtime.run_trigger",
        )

    def parse_input(self, script: Script, raw: Any) -> Any:
        return WebhookRequest.from_json(raw or {})

    def result(self, script: Script, returned: Any) -> Any:
        """The HTTP answer; with Prismatic's ``{"payload", "response"}`` shape also the payload
        that starts the flows bound to the trigger."""
        answer = WebhookResponse.from_result(returned).to_json()
        if is_payload_shape(returned):
            answer["payload"] = returned["payload"]
        return answer


class StepKind(RunKind):
    """A flow's code block: ``fn(ctx, step_results)``; it runs only inside a flow run."""

    name = "step"
    capabilities = _COMMON | {STEP_RESULTS.name}
    queueable = False

    def check_request(self, script: Script, raw: Any) -> None:
        raise InvalidInput(
            f"{script.qualname} is a flow step; it runs inside a flow",
            hint="run the flow that uses it (splice flows run NAME), or make it an action",
        )

    async def invoke(self, script: Script, ctx: Context, raw: Any) -> Any:
        ctx.step_results = results = StepResults(raw or {})
        return await script.fn(ctx, results)


class ResourceKind(RunKind):
    """An export's or an import's run: splice's own pipeline (paging, templates, mapping) and the
    resource's hooks, in the sandboxed child like any script. Its input carries the resource's
    document, so a virtual run (``run_virtual``) needs nothing stored."""

    queueable = False
    builds_output = True

    def check_request(self, script: Script, raw: Any) -> None:
        if not isinstance(raw, dict) or not isinstance(raw.get(self.name), dict):
            raise InvalidInput(
                f"{script.qualname} is an {self.name}; run it with rt.{self.name}s.run(...)",
                hint=f"splice {self.name}s run NAME -c CONNECTION",
            )


class ExportKind(ResourceKind):
    name = "export"


class ImportKind(ResourceKind):
    name = "import"


KINDS: dict[str, RunKind] = {
    kind.name: kind for kind in (ActionKind(), SyncKind(), TriggerKind(), StepKind(), ExportKind(), ImportKind())
}


def kind_of(script: Script) -> RunKind:
    return KINDS[script.kind]


def sync_lock(script: Script, conn: Connection | None) -> str:
    """The lease a running sync holds, so a sync runs at most once per connection at a time."""
    return f"sync:{script.qualname}:{conn.id if conn else ''}"
