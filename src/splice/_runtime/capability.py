"""What a script's ``ctx`` can do, named once for both ends of the channel.

A :class:`Capability` names the ``ctx`` attributes it provides and the operations it sends to
the parent. The child's client (``splice.context``) sends ``STATE.op("get")``; the parent's
handler (``splice._runtime.capabilities``) declares ``spec = STATE`` and one method per verb.
A run kind grants a set of capabilities: a script touching one it was not granted gets a
:class:`~splice.errors.CapabilityNotGranted` naming it, in the child (the attribute) and in
the parent (the operation, for a child that sends it anyway).
"""

from __future__ import annotations

from dataclasses import dataclass

from splice.errors import CapabilityNotGranted, InvalidInput


@dataclass(frozen=True, slots=True)
class Capability:
    """A ``ctx`` capability: its name, the attributes it provides, the operations it sends."""

    name: str
    attributes: tuple[str, ...]
    verbs: tuple[str, ...] = ()
    #: who has it, for the error a script gets when its kind has not ("syncs", "flow steps")
    granted_to: str = ""

    def op(self, verb: str) -> str:
        if verb not in self.verbs:
            raise ValueError(f"capability {self.name!r} has no operation {verb!r}")
        return f"{self.name}.{verb}"

    def refuse(self, kind: str, attribute: str | None = None) -> CapabilityNotGranted:
        what = f"ctx.{attribute or self.attributes[0]}"
        who = f"; it is available to {self.granted_to}" if self.granted_to else ""
        return CapabilityNotGranted(
            f"{what} is not available to a {kind}{who}",
            details={"capability": self.name, "kind": kind},
            hint=f"a {kind} cannot use {what}: move that work into a script of a kind that has it",
        )


HTTP = Capability("http", ("api", "external_api", "internal_api"), ("request", "stream"))
STATE = Capability("state", ("state",), ("get", "put", "delete", "keys"))
METADATA = Capability("metadata", ("metadata",), ("get", "set", "update"), "runs with a connection")
RECORDS = Capability("records", ("records",), ("save", "update", "delete"), "syncs")
CHECKPOINT = Capability("checkpoint", ("checkpoint",), ("get", "save", "clear"), "syncs")
ACTIONS = Capability("actions", ("trigger_action",), ("trigger",))
#: ``ctx.engine``: splice's own resources by id (state by resource, lookup caches), within the
#: integrations ``[engine] grants`` opens (see :mod:`splice._access`)
ENGINE = Capability(
    "engine",
    ("engine",),
    ("state_get", "state_put", "state_delete", "state_keys", "lookups_get", "lookups_put", "lookups_delete",
     "lookups_purge", "resource_find", "resource_get", "resource_create", "resource_update", "resource_patch",
     "resource_delete", "resource_run"),
    "actions, syncs, triggers, flow steps, exports and imports",
)  # fmt: skip
#: data, not operations: earlier steps' results, given to a flow's code block
STEP_RESULTS = Capability("step_results", ("step_results",), (), "a flow's code steps")

#: every capability by name, and which one provides each ``ctx`` attribute
CAPABILITIES = {c.name: c for c in (HTTP, STATE, METADATA, RECORDS, CHECKPOINT, ACTIONS, ENGINE, STEP_RESULTS)}
BY_ATTRIBUTE = {attribute: c for c in CAPABILITIES.values() for attribute in c.attributes}


#: operations that change nothing outside the run: a run that made only these may be done again
READS = frozenset(
    {
        STATE.op("get"), STATE.op("keys"), METADATA.op("get"), CHECKPOINT.op("get"),
        ENGINE.op("state_get"), ENGINE.op("state_keys"), ENGINE.op("lookups_get"), ENGINE.op("resource_find"),
        ENGINE.op("resource_get"),
    }
)  # fmt: skip


def split_op(op: str) -> tuple[Capability, str]:
    """``"state.get"`` → (STATE, "get"); an unknown capability or verb is refused."""
    name, _, verb = op.partition(".")
    capability = CAPABILITIES.get(name)
    if capability is None or verb not in capability.verbs:
        raise InvalidInput(f"unknown ctx operation {op!r}")
    return capability, verb
