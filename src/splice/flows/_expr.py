"""``expr("steps.get_contact.orders")``: a JSONata expression a flow evaluates while it runs.

An expression sees ``{trigger, steps, config, item, index}``: the trigger's payload, earlier
steps' results by snake_case name (and camelCase, and the name itself), the connection's
config, and inside a for-each the current item and its index. It is compiled when the flow
is declared, so a typo is a clear error at load time.

JSONata by jsonatapy (Rust, MIT; ~30× faster than the pure-Python port), which is what a
mapping of many records needs as well. Its evaluation is bounded by the engine itself — a
wall-clock limit, a recursion depth and a sequence length (an infinitely recursive expression
stops with ``EXPRESSION_FAILED`` after :data:`TIME_LIMIT_MS`) — and its result by
:data:`MAX_RESULT_BYTES`. A JSONata expression is data, with no I/O and those bounds, so
flows evaluate it in the worker (off the event loop, on one thread: jsonatapy's compiled
expressions may not cross threads); Python code steps are what runs in the sandbox.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

# jsonatapy's allocator (mimalloc) reserves 1 GiB of address space per arena by default: a run's
# child, whose memory limit is an address-space limit, could then allocate nothing. Set before
# the library loads; an operator's own setting wins.
os.environ.setdefault("MIMALLOC_ARENA_RESERVE", "32M")

import jsonatapy

from splice.errors import InvalidInput

#: how an expression is written inside a flow's JSON document
EXPR_KEY = "$expr"
#: bounds of one evaluation: wall clock, recursion depth, sequence length, result size
TIME_LIMIT_MS = 1000
MAX_DEPTH = 500
MAX_SEQUENCE = 1_000_000
MAX_RESULT_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Expr:
    """A JSONata expression, compiled once on first use (per process)."""

    source: str

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source.strip():
            raise InvalidInput(f"an expression must be a non-empty string, not {self.source!r}")

    def check(self) -> None:
        """Raise :class:`InvalidInput` naming the expression when it does not compile."""
        _compiled(self.source)

    def evaluate(self, data: dict[str, Any]) -> Any:
        """The value over ``data``; JSONata's "nothing" (no match) is None."""
        try:
            return _compiled(self.source).evaluate(data)
        except ValueError as exc:
            raise InvalidInput(
                f"expression {self.source!r} failed: {exc}",
                code="EXPRESSION_FAILED",
                details={"expression": self.source},
            ) from None

    def to_json(self) -> dict[str, str]:
        return {EXPR_KEY: self.source}


def expr(source: str) -> Expr:
    """An expression for a flow step's input, a branch's condition or a for-each's items.

    >>> step.action("Get contact", "get_contact", input={"id": expr("trigger.payload.id")})
    """
    value = Expr(source)
    value.check()
    return value


_LOCAL = threading.local()


def _compiled(source: str) -> Any:
    cache: dict[str, Any] = _LOCAL.__dict__.setdefault("cache", {})
    found = cache.get(source)
    if found is None:
        try:
            found = jsonatapy.compile(source)
        except ValueError as exc:
            raise InvalidInput(
                f"expression {source!r} does not parse: {exc}",
                code="INVALID_EXPRESSION",
                details={"expression": source},
                hint="expressions are JSONata over trigger, steps, config, item and index, e.g. "
                '"steps.get_contact.orders"',
            ) from None
        if len(cache) > 4096:
            cache.clear()
        cache[source] = found
    return found


def to_json(value: Any) -> Any:
    """A step input with its expressions written as ``{"$expr": "..."}``."""
    if isinstance(value, Expr):
        return value.to_json()
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def from_json(value: Any) -> Any:
    """The inverse of :func:`to_json`: ``{"$expr": "..."}`` (alone in its object) becomes an :class:`Expr`."""
    if isinstance(value, dict):
        if set(value) == {EXPR_KEY}:
            return expr(value[EXPR_KEY])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def resolve(value: Any, data: dict[str, Any]) -> Any:
    """``value`` with every expression in it evaluated over ``data``."""
    if isinstance(value, Expr):
        return value.evaluate(data)
    if isinstance(value, dict):
        return {k: resolve(v, data) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, data) for v in value]
    return value


def expressions(value: Any) -> list[Expr]:
    if isinstance(value, Expr):
        return [value]
    if isinstance(value, dict):
        return [e for v in value.values() for e in expressions(v)]
    if isinstance(value, list | tuple):
        return [e for v in value for e in expressions(v)]
    return []
