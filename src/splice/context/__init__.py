"""``ctx``: what a script is given. Everything here runs inside the run's child process.

Nothing in this package holds a network socket, a database handle or another connection's
credentials: every capability is a call over the run's :class:`Channel` to the parent. A
``Context`` carries the capabilities its kind of run was granted (one module each); any other
known one answers with :class:`~splice.errors.CapabilityNotGranted` naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from pydantic import BaseModel

from splice._runtime.capability import ACTIONS, BY_ATTRIBUTE, CHECKPOINT, ENGINE, HTTP, METADATA, RECORDS, STATE
from splice._runtime.channel import Channel
from splice.context._actions import Actions
from splice.context._api import ApiClient, FullResponse, ResponseType
from splice.context._checkpoint import Checkpoint
from splice.context._engine import Engine, EngineLookups, EngineState
from splice.context._log import LEVELS, Log
from splice.context._metadata import Metadata
from splice.context._records import Records
from splice.context._state import State, StateScope
from splice.integration import Script
from splice.paginate import BasePaginator

__all__ = [
    "LEVELS",
    "ApiClient",
    "Checkpoint",
    "Context",
    "Engine",
    "EngineLookups",
    "EngineState",
    "FullResponse",
    "Log",
    "Metadata",
    "Records",
    "ResponseType",
    "RunInfo",
    "State",
    "StateScope",
]


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What a script may know about its own run (``ctx.run``)."""

    id: str
    integration: str
    script: str
    connection_id: str | None
    started_at: datetime
    attempt: int = 1
    flow: str | None = None
    step: str | None = None
    test_mode: bool = False
    #: the same for every attempt of this piece of work (a flow's step, a job): send it as an API's
    #: ``Idempotency-Key`` and a step run again after a crash does not do its side effect twice
    idempotency_key: str = ""


class Context:
    """The ``ctx`` argument of every script (SPEC §2.2)."""

    def __init__(
        self,
        channel: Channel,
        *,
        run: RunInfo,
        credentials: Mapping[str, Any],
        config: Any,
        env: Mapping[str, str],
        kind: str,
        capabilities: Collection[str],
        paginator: BasePaginator | None = None,
        script: Script | None = None,
        scratch_dir: str | Callable[[], str] | None = None,
    ) -> None:
        """``config``: the integration's config model instance, or a mapping (see ``_config``);
        ``scratch_dir``: the directory, or a function making it on first use (in-process runs)."""
        self._channel = channel
        self._kind = kind
        self._scratch = scratch_dir
        self.run = run
        self.credentials = MappingProxyType(dict(credentials))
        #: the integration's ``config=`` model instance (also readable by name), else a read-only dict
        self.config: Any = config if isinstance(config, BaseModel) else MappingProxyType(dict(config))
        self.env = MappingProxyType(dict(env))
        self.log = Log(channel)
        if HTTP.name in capabilities:
            self.api = self.external_api = ApiClient(channel, "api", paginator)
            self.internal_api = ApiClient(channel, "internal")
        if STATE.name in capabilities:
            self.state = State(channel)
        if METADATA.name in capabilities:
            self.metadata = Metadata(channel)
        if RECORDS.name in capabilities and script is not None:
            self.records = Records(channel, script, self.log)
        if CHECKPOINT.name in capabilities:
            self.checkpoint = Checkpoint(channel)
        if ACTIONS.name in capabilities:
            self.trigger_action = Actions(channel).trigger
        if ENGINE.name in capabilities:
            self.engine = Engine(channel)

    def __getattr__(self, name: str) -> NoReturn:
        """Only reached for attributes not set: a capability this kind of run was not granted."""
        capability = BY_ATTRIBUTE.get(name)
        if capability is not None:
            raise capability.refuse(self._kind, name)
        raise AttributeError(f"ctx has no attribute {name!r}")

    @property
    def scratch_dir(self) -> Path | None:
        """The run's own empty directory, removed when it ends; in a sandboxed run the only
        place it may write (``$TMPDIR`` and ``tempfile`` point there too)."""
        if callable(self._scratch):
            self._scratch = self._scratch()
        return Path(self._scratch) if self._scratch else None
