"""A flow as data: its trigger and steps, one canonical JSON document, checked against a project.

A flow declared in Python (``acme.flow(...)``) and one created over REST produce the same
document (:meth:`Flow.document`), which is what ``GET /flows/{id}`` answers and ``POST /flows``
accepts. Its ``version`` is a hash of that document, recorded on every run, so a retry can be
pinned to the version a run started with.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from splice.errors import NotFound
from splice.flows._steps import Step, camel_case, invalid, snake_case, steps_from_json, walk
from splice.schedule import Schedule

TriggerType = Literal["webhook", "schedule", "manual"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowTrigger:
    """What starts a flow: a webhook trigger's payload, a schedule (per connection), or only a caller.

    ``respond="flow"`` (webhooks) makes the webhook's caller wait, bounded, for the flow's
    result as its HTTP answer.
    """

    type: TriggerType = "manual"
    trigger: str | None = None
    every: str | None = None
    cron: str | None = None
    respond: Literal["trigger", "flow"] = "trigger"

    def to_json(self) -> dict[str, Any]:
        if self.type == "webhook":
            return {"type": "webhook", "trigger": self.trigger, "respond": self.respond}
        if self.type == "schedule":
            return {"type": "schedule", **({"every": self.every} if self.every else {"cron": self.cron})}
        return {"type": "manual"}

    @property
    def schedule(self) -> Schedule | None:
        return Schedule.parse(every=self.every, cron=self.cron) if self.type == "schedule" else None

    @classmethod
    def from_json(cls, data: Any) -> FlowTrigger:
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise invalid(None, "trigger", f"must be an object, not {type(data).__name__}")
        kind = data.get("type", "manual")
        allowed = {"webhook": {"type", "trigger", "respond"}, "schedule": {"type", "every", "cron"}, "manual": {"type"}}
        if kind not in allowed:
            raise invalid(None, "trigger.type", f"must be webhook, schedule or manual, not {kind!r}")
        unknown = sorted(set(data) - allowed[kind])
        if unknown:
            raise invalid(None, f"trigger.{unknown[0]}", f"unknown field for a {kind} trigger")
        return cls(type=kind, trigger=data.get("trigger"), every=data.get("every"), cron=data.get("cron"),
                   respond=data.get("respond", "trigger"))  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Flow:
    """A trigger plus ordered steps, and the steps that run when one fails (``on_error``)."""

    integration: str
    name: str
    steps: tuple[Step, ...]
    trigger: FlowTrigger = field(default_factory=FlowTrigger)
    on_error: tuple[Step, ...] = ()
    description: str = ""
    #: "code": declared in the project (read-only over the APIs); "api": created over REST / ctx.engine
    source: Literal["code", "api"] = "code"

    @property
    def id(self) -> str:
        return f"{self.integration}.{self.name}"

    def document(self) -> dict[str, Any]:
        """The canonical JSON document; ``version`` is the hash of everything else in it."""
        body = {
            "integration": self.integration,
            "name": self.name,
            "description": self.description,
            "trigger": self.trigger.to_json(),
            "steps": [s.to_json() for s in self.steps],
            "on_error": [s.to_json() for s in self.on_error],
        }
        return {"id": self.id, **body, "source": self.source, "version": _version(body)}

    @property
    def version(self) -> str:
        return str(self.document()["version"])

    def step(self, name: str) -> Step:
        """A step by its name, its snake_case or its camelCase."""
        for one in walk((*self.steps, *self.on_error)):
            if name in (one.name, snake_case(one.name), camel_case(one.name)):
                return one
        known = ", ".join(repr(s.name) for s in walk(self.steps)) or "none"
        raise NotFound(f"flow {self.id} has no step {name!r} (its steps: {known})")

    @classmethod
    def from_document(cls, data: Any, *, source: Literal["code", "api"] = "api") -> Flow:
        """A flow from its JSON document; every error names the step and the field."""
        if not isinstance(data, Mapping):
            raise invalid(None, "document", f"a flow document must be an object, not {type(data).__name__}")
        unknown = sorted(set(data) - {"id", "integration", "name", "description", "trigger", "steps", "on_error",
                                      "source", "version"})  # fmt: skip
        if unknown:
            raise invalid(None, unknown[0], "unknown field (a flow has integration, name, description, trigger, "
                                            "steps, on_error)")  # fmt: skip
        for key in ("integration", "name"):
            if not isinstance(data.get(key), str) or not data.get(key):
                raise invalid(None, key, f"must be a non-empty string, not {data.get(key)!r}")
        description = data.get("description", "")
        if not isinstance(description, str):
            raise invalid(None, "description", "must be a string")
        return cls(
            integration=data["integration"],
            name=data["name"],
            description=description,
            trigger=FlowTrigger.from_json(data.get("trigger")),
            steps=steps_from_json(data.get("steps"), "steps"),
            on_error=steps_from_json(data.get("on_error", []), "on_error"),
            source=source,
        )


def _version(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
