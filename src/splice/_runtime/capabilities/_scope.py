"""What the parent holds for one run, and what every capability handler may use of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from splice._runtime.capability import Capability

if TYPE_CHECKING:
    from splice._http.client import ConnectionApi
    from splice._http.redact import Redactor
    from splice._runtime.records import RecordWriter
    from splice._runtime.request import RunOutcome
    from splice.integration import Script
    from splice.services.resource_state import ResourceState
    from splice.store import Connection, Store

#: ``ctx.trigger_action``: (action name, input, connection id) → the action's output
NestedRunner = Callable[[str, Any, "str | None"], Awaitable[Any]]
Logger = Callable[[str, str, dict[str, Any]], None]


class LookupData(Protocol):
    """The entries of lookup caches (``rt.lookups``, which sits above the runner)."""

    async def get_data(self, cache: str, keys: list[str] | None = None, starts_with: str | None = None,
                       page_size: int = 1000, start_after_key: str | None = None) -> dict[str, Any]: ...  # fmt: skip

    async def put_data(self, cache: str, entries: list[Any]) -> list[dict[str, Any]]: ...

    async def delete_data(self, cache: str, keys: list[str]) -> list[dict[str, Any]]: ...

    async def purge_data(self, cache: str) -> int: ...


@dataclass(frozen=True, slots=True)
class EngineServices:
    """What ``ctx.engine`` calls: the runtime's services, handed to the runner (which cannot import them)."""

    state: ResourceState
    lookups: LookupData
    #: platform resources by type (``"exports"`` → ``rt.exports``), added once they are built
    resources: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RunScope:
    """One run's parent-side state: its one connection and clients, its records writer."""

    run_id: str
    script: Script
    store: Store
    connection: Connection | None
    redactor: Redactor
    nested: NestedRunner
    log: Logger
    api: ConnectionApi | None = None
    internal_api: ConnectionApi | None = None
    #: syncs: buffers, writes and counts ``ctx.records`` (``records`` and ``checkpoint`` share it)
    records: RecordWriter | None = None
    #: ``ctx.engine``: the services it calls, and ``[engine] grants`` of the run's project version
    engine: EngineServices | None = None
    grants: Mapping[str, Sequence[str]] = field(default_factory=dict)


class Handler:
    """The parent side of one capability: a method per verb of its :class:`Capability`.

    A method takes ``(args, blob)`` and returns the reply's JSON part, or that and a blob;
    :meth:`finish` sees the run's outcome before it is stored (a sync's records are flushed
    there).
    """

    spec: ClassVar[Capability]

    def __init__(self, scope: RunScope) -> None:
        self.scope = scope

    def __init_subclass__(cls) -> None:
        missing = [verb for verb in cls.spec.verbs if not callable(getattr(cls, verb, None))]
        if missing:
            raise TypeError(f"{cls.__name__} handles {cls.spec.name!r} but lacks {', '.join(missing)}")

    async def call(self, verb: str, args: dict[str, Any], blob: bytes) -> tuple[dict[str, Any], bytes]:
        result = await getattr(self, verb)(args, blob)
        return result if isinstance(result, tuple) else (result, b"")

    async def finish(self, outcome: RunOutcome) -> RunOutcome:
        return outcome
