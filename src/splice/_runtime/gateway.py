"""The parent side of one run: the frames from its child, and the handlers that answer them.

Each operation a script's ``ctx`` sends goes to the handler of its capability
(:mod:`splice._runtime.capabilities`), if the run's kind granted it; log lines are scrubbed of
secrets and stored in batches. The same handlers serve a child over a socket (:meth:`serve`)
and an in-process script through a :class:`~splice._runtime.channel.LocalChannel`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from splice._runtime import wire
from splice._runtime.capabilities import Handler, RunScope
from splice._runtime.capabilities.http import number
from splice._runtime.capability import HTTP, READS, split_op
from splice._runtime.request import RunOutcome
from splice.errors import InternalError, SpliceError
from splice.store import LogLine

logger = logging.getLogger("splice")
LogCallback = Callable[[LogLine], None]
_LEVELS = frozenset({"debug", "info", "warning", "error"})
#: most log lines a run keeps; the rest are counted and dropped (a flooding script)
MAX_LOG_LINES = wire.MAX_LOG_LINES
MAX_LOG_MESSAGE = 16_384
#: log lines are stored in batches of this many while a run goes on
LOG_BATCH = 500
#: seconds a logged line waits for others before it is stored, so a run's logs can be followed live
LOG_DELAY = 0.2
#: calls one child may have in flight; past it the parent stops reading its socket for a while
MAX_INFLIGHT = 64


@dataclass
class RunGateway:
    """Serves one run's calls; ``done`` is filled when the script finishes."""

    scope: RunScope
    #: the capabilities the run's kind grants, by name
    handlers: dict[str, Handler]
    kind: str
    on_log: LogCallback | None = None
    logs: list[LogLine] = field(default_factory=list)
    log_count: int = 0
    dropped_logs: int = 0
    done: dict[str, Any] | None = None
    #: HTTP attempts made so far, and those answered with success (a sync's progress: its pages)
    requests: int = 0
    pages: int = 0
    #: operations that may have changed something outside the run (an HTTP call, a state write…)
    effects: int = 0
    _writing: asyncio.Future[None] | None = None
    _created: asyncio.Future[None] | None = None
    _timer: asyncio.TimerHandle | None = None

    @property
    def run_id(self) -> str:
        return self.scope.run_id

    # --- log lines -------------------------------------------------------------------

    def log(
        self,
        level: str,
        message: str,
        fields: dict[str, Any] | None = None,
        ts: float | None = None,
        *,
        clean: bool = False,
    ) -> None:
        """Keep a log line (secrets masked unless the caller built it from masked parts)."""
        if self.log_count >= MAX_LOG_LINES:
            self.dropped_logs += 1
            return
        self.log_count += 1
        message = str(message)[:MAX_LOG_MESSAGE]
        line = LogLine(
            ts=datetime.fromtimestamp(ts or time.time(), UTC),
            level=level if level in _LEVELS else "info",
            message=message if clean else self.scope.redactor.text(message),
            fields=(fields or {}) if clean else self.scope.redactor.value(fields or {}),
        )
        self.logs.append(line)
        if self.on_log is not None:
            self.on_log(line)
        if len(self.logs) >= LOG_BATCH:
            self._write_pending()
        elif self._timer is None:
            with contextlib.suppress(RuntimeError):  # no running loop: the run's end stores them
                self._timer = asyncio.get_running_loop().call_later(LOG_DELAY, self._write_pending)

    def _write_pending(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.logs:
            self._write(self.logs)
            self.logs = []

    def after(self, created: asyncio.Future[None] | None) -> None:
        """Store no log line, and make no call that may change something, before ``created`` (the
        run's row, when it is written without waiting): a crash never hides a step that had effects."""
        if created is not None:
            self._writing = self._created = created

    def _write(self, batch: list[LogLine]) -> None:
        """Store a batch while the run goes on, after the batches before it (order is kept)."""
        previous = self._writing

        scope = self.scope
        conn = scope.connection
        owner = (scope.script.integration.name, scope.script.name, conn.id if conn is not None else None)

        async def write() -> None:
            if previous is not None:
                await previous
            await scope.store.runs.add_logs_later(self.run_id, owner, batch)

        self._writing = asyncio.ensure_future(write())

    async def flush(self) -> None:
        """Store every log line not yet stored, noting any that were dropped."""
        if self.dropped_logs:
            message = f"{self.dropped_logs} log lines dropped (a run keeps at most {MAX_LOG_LINES:,})"
            self.logs.append(LogLine(ts=datetime.now(UTC), level="warning", message=message, fields={}))
            self.dropped_logs = 0
        self._write_pending()
        if self._writing is not None:
            await self._writing

    def log_request(self, method: str, url: str, status: int | None, elapsed_ms: float, attempt: int) -> None:
        """One line per HTTP attempt; ``url`` is already masked by the client."""
        self.requests += 1
        self.pages += status is not None and status < 400
        fields = {"method": method, "url": url, "status": status, "duration_ms": round(elapsed_ms, 2)}
        if attempt > 1:
            fields["attempt"] = attempt
        level = "info" if status is not None and status < 400 else "warning"
        self.log(level, f"{method} {url} → {status if status is not None else 'no response'}", fields, clean=True)

    def on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("t")
        if kind == "log":
            fields = message.get("fields")
            self.log(
                str(message.get("level")),
                str(message.get("message", "")),
                fields if isinstance(fields, dict) else {},
                number(message.get("ts")),
            )
        elif kind == "dropped":
            count = message.get("count")
            if isinstance(count, int) and 0 < count < 1 << 40:
                self.dropped_logs += count
        elif kind == "done":
            self.done = message

    # --- calls -----------------------------------------------------------------------

    async def handle(self, op: str, args: dict[str, Any], blob: bytes) -> tuple[dict[str, Any], bytes]:
        capability, verb = split_op(op)
        handler = self.handlers.get(capability.name)
        if handler is None:
            raise capability.refuse(self.kind)
        if op not in READS:
            await self._effect()
        return await handler.call(verb, args, blob)

    async def handle_stream(self, args: dict[str, Any], blob: bytes) -> tuple[dict[str, Any], AsyncIterator[bytes]]:
        handler = self.handlers.get(HTTP.name)
        if handler is None:
            raise HTTP.refuse(self.kind)
        await self._effect()
        return await handler.stream(args, blob)  # type: ignore[attr-defined]

    async def _effect(self) -> None:
        self.effects += 1
        if self._created is not None:
            await self._created
            self._created = None

    async def finish(self, outcome: RunOutcome) -> RunOutcome:
        """Let each capability see the outcome before it is stored (a sync's records are written)."""
        for handler in self.handlers.values():
            outcome = await handler.finish(outcome)
        return outcome

    # --- the child's socket ------------------------------------------------------------

    async def serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, start: dict[str, Any], *, keep: bool = False
    ) -> None:
        """Send ``start``, then answer the child's calls until it reports done or goes away;
        ``keep`` leaves the socket open for the session child's next run."""
        writer.write(wire.encode(start))
        tasks: set[asyncio.Task[None]] = set()
        try:
            while self.done is None:
                try:
                    header, blob = await wire.read_frame(reader)
                except (EOFError, wire.WireError, ConnectionResetError):
                    return
                if header.get("t") == "done" and blob:
                    header["output"] = _load_output(blob)
                if header.get("t") == "call":
                    if len(tasks) >= MAX_INFLIGHT:
                        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                    task = asyncio.create_task(self._answer(writer, header, blob))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                else:
                    self.on_message(header)
        finally:
            for task in tasks:
                task.cancel()
            if not keep or self.done is None:
                with contextlib.suppress(Exception):
                    writer.close()

    async def _answer(self, writer: asyncio.StreamWriter, header: dict[str, Any], blob: bytes) -> None:
        rid = header.get("id")
        op = str(header.get("op"))
        args = header.get("args") if isinstance(header.get("args"), dict) else {}
        try:
            if op == HTTP.op("stream"):
                result, chunks = await self.handle_stream(args, blob)
                writer.write(wire.encode({"t": "reply", "id": rid, "ok": True, "result": result}))
                await self._pump(writer, rid, chunks)
                return
            result, data = await self.handle(op, args, blob)
            writer.write(wire.encode({"t": "reply", "id": rid, "ok": True, "result": result}, data))
        except SpliceError as exc:
            writer.write(wire.encode({"t": "reply", "id": rid, "ok": False, "error": self._error(exc)}))
        except Exception as exc:  # a bug on our side must not hang the child
            logger.exception("internal error answering %s for run %s", op, self.run_id)
            error = InternalError(f"internal error: {type(exc).__name__}: {exc}")
            writer.write(wire.encode({"t": "reply", "id": rid, "ok": False, "error": self._error(error)}))
        with contextlib.suppress(ConnectionError):
            await writer.drain()

    async def _pump(self, writer: asyncio.StreamWriter, rid: Any, chunks: AsyncIterator[bytes]) -> None:
        try:
            async for chunk in chunks:
                writer.write(wire.encode({"t": "chunk", "id": rid}, chunk))
                await writer.drain()
            writer.write(wire.encode({"t": "end", "id": rid}))
        except SpliceError as exc:
            writer.write(wire.encode({"t": "end", "id": rid, "error": self._error(exc)}))

    def _error(self, exc: SpliceError) -> dict[str, Any]:
        return self.scope.redactor.value(exc.to_dict())


def _load_output(blob: bytes) -> Any:
    try:
        return orjson.loads(blob)
    except orjson.JSONDecodeError:
        return None
