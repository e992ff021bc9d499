"""``ctx.log``: log lines sent to the parent, which scrubs secrets and stores them on the run."""

from __future__ import annotations

import time
from typing import Any

from splice import _json
from splice._runtime.channel import Channel
from splice._runtime.wire import MAX_LOG_LINES

LEVELS = ("debug", "info", "warning", "error")


class Log:
    """``ctx.log.info("synced", count=3)``; fields must be JSON-serialisable.

    A run keeps at most ``MAX_LOG_LINES`` lines; past that they are counted, not sent, and
    the run's log ends with a warning saying how many were dropped.
    """

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._sent = 0
        self._dropped = 0

    def _write(self, level: str, message: Any, fields: dict[str, Any]) -> None:
        if self._sent >= MAX_LOG_LINES:
            self._dropped += 1
            return
        self._sent += 1
        fields = _json.finite_or_named(fields)
        self._channel.emit({"t": "log", "level": level, "message": str(message), "fields": fields, "ts": time.time()})

    def flush(self) -> None:
        """Tell the parent how many lines were dropped (the runtime calls this when a run ends)."""
        if self._dropped:
            self._channel.emit({"t": "dropped", "count": self._dropped})
            self._dropped = 0

    def debug(self, message: Any, **fields: Any) -> None:
        self._write("debug", message, fields)

    def info(self, message: Any, **fields: Any) -> None:
        self._write("info", message, fields)

    def warning(self, message: Any, **fields: Any) -> None:
        self._write("warning", message, fields)

    def error(self, message: Any, **fields: Any) -> None:
        self._write("error", message, fields)
