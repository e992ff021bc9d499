"""A flow's steps as frozen values: code, action, branch, for-each — and a registry for more.

Each step type is one small class with its JSON form (:meth:`Step.to_json` /
:func:`step_from_json`) and its checks, which name the step and the field. Exports and imports
(the resources issue) register their own types with :func:`register_step_type`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from splice.errors import InvalidInput
from splice.flows import _expr
from splice.flows._expr import Expr

#: most steps a flow may have, nested ones included (each is a stored child run)
MAX_STEPS = 500
MAX_CONCURRENCY = 32
_CAMEL_SPLIT = re.compile(r"[^0-9A-Za-z]+")


def snake_case(name: str) -> str:
    """``"Get contact"`` → ``"get_contact"``; ``"Tag VIP"`` → ``"tag_vip"``."""
    return "_".join(part.lower() for part in _CAMEL_SPLIT.split(name) if part)


def camel_case(name: str) -> str:
    """``"Get contact"`` → ``"getContact"`` (Prismatic's ``stepResults.getContact``)."""
    parts = [part.lower() for part in _CAMEL_SPLIT.split(name) if part]
    return parts[0] + "".join(p.capitalize() for p in parts[1:]) if parts else ""


def invalid(step: str | None, field_name: str, message: str, hint: str | None = None) -> InvalidInput:
    """The error of a flow document: names the step (or the flow) and the field."""
    where = f"step {step!r}" if step else "the flow"
    return InvalidInput(
        f"{where}: {field_name}: {message}",
        code="INVALID_FLOW",
        details={"step": step, "field": field_name},
        hint=hint,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    """How a failed step is tried again: ``attempts`` more times, waiting ``delay`` seconds
    (doubling when ``backoff="exponential"``, at most ``max_delay``), or as long as a rate-limited
    API's ``Retry-After`` says when that is longer."""

    attempts: int = 0
    delay: float = 1.0
    backoff: Literal["constant", "exponential"] = "exponential"
    max_delay: float = 300.0

    def wait(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds before retry number ``retry`` (1-based)."""
        base = self.delay * (2 ** (retry - 1) if self.backoff == "exponential" else 1)
        return min(max(base, retry_after or 0.0), self.max_delay)

    def to_json(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "delay": self.delay, "backoff": self.backoff, "max_delay": self.max_delay}

    @classmethod
    def parse(cls, value: Any, step: str) -> Retry:
        """``retries=3``, ``{"attempts": 3, "delay": 2, "backoff": "constant"}`` or a :class:`Retry`."""
        if isinstance(value, Retry):
            retry = value
        elif isinstance(value, int) and not isinstance(value, bool):
            retry = cls(attempts=value)
        elif isinstance(value, Mapping):
            unknown = set(value) - {"attempts", "delay", "backoff", "max_delay"}
            if unknown:
                raise invalid(
                    step, "retries", f"unknown key {sorted(unknown)[0]!r} (attempts, delay, backoff, max_delay)"
                )
            retry = cls(**dict(value))
        else:
            raise invalid(step, "retries", f"must be a number of retries or an object, not {value!r}")
        retry.check(step)
        return retry

    def check(self, step: str) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int) or not 0 <= self.attempts <= 20:
            raise invalid(step, "retries.attempts", f"must be a whole number from 0 to 20, not {self.attempts!r}")
        for name in ("delay", "max_delay"):
            number = getattr(self, name)
            if isinstance(number, bool) or not isinstance(number, int | float) or not 0 <= number <= 86400:
                raise invalid(step, f"retries.{name}", f"must be 0 to 86400 seconds, not {number!r}")
        if self.backoff not in ("constant", "exponential"):
            raise invalid(step, "retries.backoff", f"must be 'constant' or 'exponential', not {self.backoff!r}")


NO_RETRY = Retry()


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """What every step has: a name unique in its flow, retries, time limit, error policy."""

    type: ClassVar[str]
    name: str
    retry: Retry = NO_RETRY
    continue_on_error: bool = False
    time_limit: float | None = None

    def children(self) -> tuple[tuple[Step, ...], ...]:
        """Nested step lists (a branch's cases, a loop's body)."""
        return ()

    def expressions(self) -> list[Expr]:
        return []

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "name": self.name}
        data.update(self._fields())
        if self.retry != NO_RETRY:
            data["retries"] = self.retry.to_json()
        if self.continue_on_error:
            data["continue_on_error"] = True
        if self.time_limit is not None:
            data["time_limit"] = self.time_limit
        return data

    def _fields(self) -> dict[str, Any]:
        return {}

    def check_common(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or len(self.name) > 128:
            raise invalid(None, "name", f"a step needs a name of 1-128 characters, not {self.name!r}")
        if not snake_case(self.name):
            raise invalid(self.name, "name", "must contain a letter or a digit")
        if not isinstance(self.continue_on_error, bool):
            raise invalid(self.name, "continue_on_error", f"must be true or false, not {self.continue_on_error!r}")
        limit = self.time_limit
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int | float) or not 0 < limit <= 86400
        ):
            raise invalid(self.name, "time_limit", f"must be more than 0 and at most 86400 seconds, not {limit!r}")
        self.retry.check(self.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeStep(Step):
    """A code block: ``async def f(ctx, step_results)``, declared with ``@integration.step()``."""

    type: ClassVar[str] = "code"
    function: str

    def _fields(self) -> dict[str, Any]:
        return {"function": self.function}


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionStep(Step):
    """Another action; its input built from expressions over the run so far."""

    type: ClassVar[str] = "action"
    action: str
    input: Any = None

    def expressions(self) -> list[Expr]:
        return _expr.expressions(self.input)

    def _fields(self) -> dict[str, Any]:
        data: dict[str, Any] = {"action": self.action}
        if self.input is not None:
            data["input"] = _expr.to_json(self.input)
        return data


@dataclass(frozen=True, slots=True)
class Case:
    """One branch of a :class:`BranchStep`: its condition and its steps."""

    when: Expr
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchStep(Step):
    """The first case whose condition is true runs its steps; else ``otherwise``. Its result names
    the case taken (``{"case": 0}``, ``{"case": "otherwise"}`` or ``{"case": null}``)."""

    type: ClassVar[str] = "branch"
    cases: tuple[Case, ...]
    otherwise: tuple[Step, ...] = ()

    def children(self) -> tuple[tuple[Step, ...], ...]:
        return (*(case.steps for case in self.cases), self.otherwise)

    def expressions(self) -> list[Expr]:
        return [case.when for case in self.cases]

    def _fields(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "when": [{"if": c.when.to_json(), "steps": [s.to_json() for s in c.steps]} for c in self.cases]
        }
        if self.otherwise:
            data["otherwise"] = [s.to_json() for s in self.otherwise]
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class ForEachStep(Step):
    """Its steps once per item of ``items`` (an expression), ``concurrency`` items at a time; its
    result is the list of each item's last step result. Nested steps see ``item`` and ``index``."""

    type: ClassVar[str] = "for_each"
    items: Expr
    steps: tuple[Step, ...]
    concurrency: int = 1

    def children(self) -> tuple[tuple[Step, ...], ...]:
        return (self.steps,)

    def expressions(self) -> list[Expr]:
        return [self.items]

    def _fields(self) -> dict[str, Any]:
        return {
            "items": self.items.to_json(),
            "concurrency": self.concurrency,
            "steps": [s.to_json() for s in self.steps],
        }


def walk(steps: Sequence[Step]) -> Iterator[Step]:
    """Every step, nested ones included, in document order."""
    for one in steps:
        yield one
        for nested in one.children():
            yield from walk(nested)


# --- from JSON -----------------------------------------------------------------------------

StepParser = Callable[[Mapping[str, Any], dict[str, Any]], Step]
#: step types by their JSON ``type``: how a document's step becomes a value
STEP_TYPES: dict[str, StepParser] = {}
_COMMON_KEYS = {"type", "name", "retries", "continue_on_error", "time_limit"}


def register_step_type(type_name: str, parse: StepParser) -> None:
    """Teach documents a new step type; ``parse(data, common)`` gets the common fields parsed."""
    STEP_TYPES[type_name] = parse


def steps_from_json(value: Any, where: str) -> tuple[Step, ...]:
    if not isinstance(value, list):
        raise invalid(None, where, f"must be a list of steps, not {type(value).__name__}")
    return tuple(step_from_json(item) for item in value)


def step_from_json(data: Any) -> Step:
    if not isinstance(data, Mapping):
        raise invalid(None, "steps", f"a step must be an object, not {type(data).__name__}")
    name = data.get("name")
    if not isinstance(name, str):
        raise invalid(None, "name", f"every step needs a name (a string), not {name!r}")
    kind = data.get("type")
    parse = STEP_TYPES.get(kind) if isinstance(kind, str) else None
    if parse is None:
        known = ", ".join(sorted(STEP_TYPES))
        raise invalid(name, "type", f"unknown step type {kind!r} (known: {known})")
    common: dict[str, Any] = {"name": name}
    if "retries" in data:
        common["retry"] = Retry.parse(data["retries"], name)
    for key in ("continue_on_error", "time_limit"):
        if key in data:
            common[key] = data[key]
    return parse(data, common)


def _only(data: Mapping[str, Any], step: str, *keys: str) -> None:
    unknown = sorted(set(data) - _COMMON_KEYS - set(keys))
    if unknown:
        accepted = ", ".join(sorted(_COMMON_KEYS | set(keys)))
        raise invalid(step, unknown[0], f"unknown field (a {data.get('type')} step takes {accepted})")


def _string(data: Mapping[str, Any], key: str, step: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise invalid(step, key, f"must be a non-empty string, not {value!r}")
    return value


def _expression(value: Any, step: str, key: str) -> Expr:
    if isinstance(value, Mapping) and set(value) == {_expr.EXPR_KEY}:
        value = value[_expr.EXPR_KEY]
    if not isinstance(value, str):
        raise invalid(step, key, f'must be an expression ({{"$expr": "..."}} or a string), not {value!r}')
    try:
        return _expr.expr(value)
    except InvalidInput as exc:
        raise invalid(step, key, exc.message, hint=exc.hint) from None


def _parse_code(data: Mapping[str, Any], common: dict[str, Any]) -> Step:
    _only(data, common["name"], "function")
    return CodeStep(**common, function=_string(data, "function", common["name"]))


def _parse_action(data: Mapping[str, Any], common: dict[str, Any]) -> Step:
    _only(data, common["name"], "action", "input")
    try:
        value = _expr.from_json(data.get("input"))
    except InvalidInput as exc:
        raise invalid(common["name"], "input", exc.message, hint=exc.hint) from None
    return ActionStep(**common, action=_string(data, "action", common["name"]), input=value)


def _parse_branch(data: Mapping[str, Any], common: dict[str, Any]) -> Step:
    name = common["name"]
    _only(data, name, "when", "otherwise")
    when = data.get("when")
    if not isinstance(when, list) or not when:
        raise invalid(name, "when", "a branch needs a list of cases, each {'if': expression, 'steps': [...]}")
    cases = []
    for index, case in enumerate(when):
        if not isinstance(case, Mapping) or set(case) != {"if", "steps"}:
            raise invalid(name, f"when[{index}]", "each case is {'if': expression, 'steps': [...]}")
        cases.append(Case(_expression(case["if"], name, f"when[{index}].if"), steps_from_json(case["steps"], "steps")))
    otherwise = steps_from_json(data.get("otherwise", []), "otherwise")
    return BranchStep(**common, cases=tuple(cases), otherwise=otherwise)


def _parse_for_each(data: Mapping[str, Any], common: dict[str, Any]) -> Step:
    name = common["name"]
    _only(data, name, "items", "steps", "concurrency")
    concurrency = data.get("concurrency", 1)
    return ForEachStep(
        **common,
        items=_expression(data.get("items"), name, "items"),
        steps=steps_from_json(data.get("steps"), "steps"),
        concurrency=concurrency,
    )


for _name, _parse in (("code", _parse_code), ("action", _parse_action), ("branch", _parse_branch),
                      ("for_each", _parse_for_each)):  # fmt: skip
    register_step_type(_name, _parse)


def check_shape(step: Step) -> None:
    """What a step must be whatever the project: names, bounds, non-empty nested lists."""
    step.check_common()
    if isinstance(step, BranchStep):
        if not step.cases:
            raise invalid(step.name, "when", "a branch needs at least one case")
        for index, case in enumerate(step.cases):
            if not case.steps:
                raise invalid(step.name, f"when[{index}].steps", "a branch's case needs at least one step")
    if isinstance(step, ForEachStep):
        if not step.steps:
            raise invalid(step.name, "steps", "a for-each needs at least one step")
        concurrency = step.concurrency
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY:
            raise invalid(
                step.name, "concurrency", f"must be a whole number from 1 to {MAX_CONCURRENCY}, not {concurrency!r}"
            )
    for value in step.expressions():
        value.check()


__all__ = [
    "ActionStep",
    "BranchStep",
    "Case",
    "CodeStep",
    "ForEachStep",
    "Retry",
    "Step",
    "camel_case",
    "register_step_type",
    "snake_case",
    "step_from_json",
    "steps_from_json",
    "walk",
]
