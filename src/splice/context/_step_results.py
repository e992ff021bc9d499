"""``step_results`` (flows): earlier steps' results by name, snake_case or camelCase.

Prismatic's code blocks read ``stepResults.getContact``; Python code reads
``step_results["Get contact"]`` or ``step_results.get_contact``: all three work. The trigger's
payload is ``step_results.trigger``; inside a for-each, ``item`` and ``index``; in an
``on_error`` step, ``error`` (the failed step, its code and message).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from splice.flows._steps import camel_case, snake_case


class StepResults(Mapping[str, Any]):
    """Read-only; results are what each step returned (a for-each: the list of its iterations')."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        results = data.get("results") or {}
        self._results: dict[str, Any] = dict(results)
        self._keys: dict[str, str] = {}
        for name in results:
            for key in (name, snake_case(name), camel_case(name)):
                self._keys.setdefault(key, name)
        self.trigger: Any = data.get("trigger")
        self.item: Any = data.get("item")
        self.index: int | None = data.get("index")
        self.error: dict[str, Any] | None = data.get("error")

    def __getitem__(self, key: str) -> Any:
        name = self._keys.get(key)
        if name is None:
            known = ", ".join(repr(n) for n in self._results) or "none yet"
            raise KeyError(f"no step {key!r} has a result (results so far: {known})")
        return self._results[name]

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError as exc:
            raise AttributeError(exc.args[0]) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._results)

    def __len__(self) -> int:
        return len(self._results)

    def __repr__(self) -> str:
        return f"StepResults({list(self._results)})"
