"""A run as a value: what to run (:class:`RunRequest`) and how it ended (:class:`RunOutcome`).

Every way of starting a run — the Python API, the CLI, REST, a queued job, a webhook, a
script's ``ctx.trigger_action`` — builds a :class:`RunRequest` and hands it to the
:class:`~splice._runtime.runner.Runner`. Above the wire the result is a :class:`RunOutcome`
holding a real :class:`~splice.errors.SpliceError`, not the ``done`` message a child sends.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from splice.errors import SpliceError, TimeLimitExceeded, error_from_dict

if TYPE_CHECKING:
    from splice.integration import Script
    from splice.store import Connection, LogLine

LogCallback = Callable[["LogLine"], None]
ProgressCallback = Callable[[dict[str, Any]], None]
#: how deep ``ctx.trigger_action`` may nest before it is refused (a loop, most likely)
MAX_NESTING = 8


class Sessions(Protocol):
    """Children kept between a flow run's code steps (:class:`splice._runtime.sessions.SessionPool`;
    named here by what the runner calls, so this module needs nothing of the executor's)."""

    def session(self, executor: Any, connection: tuple[str, str] | None) -> AbstractContextManager[Any]: ...


def new_run_id() -> str:
    """Sortable, unique run ids: milliseconds since the epoch, then randomness."""
    return f"run_{int(time.time() * 1000):013x}{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRequest:
    """One run to start: the script, for whom, with what, and how it is bounded.

    ``input`` is what the script gets; ``shown_input`` what the stored run shows when that
    differs (a webhook's request with its signature header masked). ``background`` picks the
    generous rate-limit budget (nobody waits on the answer). ``secrets`` are masked wherever
    the run is stored, besides the connection's credentials and the operator variables.
    """

    script: Script
    connection: Connection | None = None
    input: Any = None
    shown_input: Any = None
    run_id: str = field(default_factory=new_run_id)
    parent_id: str | None = None
    job_id: str | None = None
    attempt: int = 1
    background: bool = False
    time_limit: float | None = None
    depth: int = 0
    #: a flow's step: the flow (``"acme.onboard"``) and the step's key in its run
    flow: str | None = None
    step: str | None = None
    secrets: tuple[str, ...] = ()
    #: a flow run's children kept between its code steps (see :mod:`splice._runtime.sessions`)
    sessions: Sessions | None = None
    #: headers added to every request the run's ``ctx.api`` and ``ctx.internal_api`` send (a
    #: flow step's :data:`splice.flows._chain.HEADER`)
    api_headers: Mapping[str, str] | None = None
    #: a flow run's writes not waited for: the run row, and the result of a run that changed
    #: nothing outside itself (its checkpoint may be lost in a crash: it is run again, harmlessly)
    deferred: list[asyncio.Future[None]] | None = None
    on_log: LogCallback | None = None
    on_progress: ProgressCallback | None = None

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt: a flow step's ``<flow run>:<step>``, a job's id, else the run's id."""
        if self.step is not None and self.parent_id is not None:
            return f"{self.parent_id}:{self.step}"
        return self.job_id or self.run_id

    @property
    def stored_input(self) -> Any:
        return self.input if self.shown_input is None else self.shown_input

    def nested(self, script: Script, connection: Connection | None, input: Any) -> RunRequest:
        """A run this one starts (``ctx.trigger_action``): its child in the run history."""
        return RunRequest(
            script=script,
            connection=connection,
            input=input,
            parent_id=self.run_id,
            background=self.background,
            depth=self.depth + 1,
            api_headers=self.api_headers,
            on_log=self.on_log,
        )

    def with_job(self, job_id: str, attempt: int) -> RunRequest:
        return replace(self, job_id=job_id, attempt=attempt, background=True)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How a run ended, as the runner sees it: an output, or an error it can reason about."""

    ok: bool
    output: Any = None
    error: SpliceError | None = None

    @classmethod
    def succeeded(cls, output: Any) -> RunOutcome:
        return cls(True, output)

    @classmethod
    def failed(cls, error: SpliceError) -> RunOutcome:
        return cls(False, None, error)

    @classmethod
    def from_message(cls, done: dict[str, Any]) -> RunOutcome:
        """The child's ``done`` message (the wire format) as an outcome."""
        if done.get("ok"):
            return cls.succeeded(done.get("output"))
        error = done.get("error")
        return cls.failed(error_from_dict(error if isinstance(error, dict) else {}))

    @property
    def status(self) -> str:
        """The stored run's status: succeeded, failed or timed_out."""
        if self.ok:
            return "succeeded"
        return "timed_out" if isinstance(self.error, TimeLimitExceeded) else "failed"
