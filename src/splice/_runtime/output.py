"""``print()`` inside a script becomes an info log line of its run.

One proxy replaces ``sys.stdout`` once; the current run's logger lives in a context
variable, so concurrent in-process runs each capture their own prints and code outside
any run still writes to the real stdout.
"""

from __future__ import annotations

import contextvars
import sys
from collections.abc import Callable
from typing import Any, TextIO

current_sink: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "splice_print_sink", default=None
)


class _PrintProxy:
    def __init__(self, real: TextIO) -> None:
        self._real = real
        self._pending = ""

    def write(self, text: str) -> int:
        sink = current_sink.get()
        if sink is None:
            return self._real.write(text)
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            sink(line)
        return len(text)

    def flush(self) -> None:
        sink = current_sink.get()
        if sink is not None and self._pending:
            sink(self._pending)
            self._pending = ""
        elif sink is None:
            self._real.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def install() -> None:
    """Route ``print`` through the proxy (idempotent)."""
    if not isinstance(sys.stdout, _PrintProxy):
        sys.stdout = _PrintProxy(sys.stdout)  # type: ignore[assignment]
