"""The parent side of ``ctx``: one handler module per capability, registered by name.

A run's gateway builds the handlers of the capabilities its kind grants and dispatches each
operation from the child to its handler; an operation of a capability the kind lacks is
refused with :class:`~splice.errors.CapabilityNotGranted`.
"""

from __future__ import annotations

from splice._runtime.capabilities._scope import EngineServices, Handler, NestedRunner, RunScope
from splice._runtime.capabilities.actions import ActionsHandler
from splice._runtime.capabilities.checkpoint import CheckpointHandler
from splice._runtime.capabilities.engine import EngineHandler
from splice._runtime.capabilities.http import HttpHandler
from splice._runtime.capabilities.metadata import MetadataHandler
from splice._runtime.capabilities.records import RecordsHandler
from splice._runtime.capabilities.state import StateHandler

HANDLERS: dict[str, type[Handler]] = {
    handler.spec.name: handler
    for handler in (
        HttpHandler,
        StateHandler,
        MetadataHandler,
        RecordsHandler,
        CheckpointHandler,
        ActionsHandler,
        EngineHandler,
    )
}


def handlers(granted: frozenset[str], scope: RunScope) -> dict[str, Handler]:
    """The handlers of the ``granted`` capabilities for one run (data-only ones have none)."""
    return {name: HANDLERS[name](scope) for name in sorted(granted) if name in HANDLERS}


__all__ = ["HANDLERS", "EngineServices", "Handler", "NestedRunner", "RunScope", "handlers"]
