"""The parent side of one run: everything a script's ``ctx`` asks for is done here.

The gateway holds the run's one connection (credentials included), performs its HTTP via
:class:`~splice._http.client.ConnectionApi`, reads and writes metadata and state in the
store, starts nested actions, and collects log lines with secrets scrubbed. It serves the
same handlers to a child over a socket (:meth:`serve`) and to an in-process script through
a :class:`~splice._runtime.channel.LocalChannel`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from splice._http.client import CallSpec, ConnectionApi
from splice._http.models import Response
from splice._http.redact import Redactor
from splice._runtime import wire
from splice._runtime.records import RecordWriter
from splice.errors import InvalidInput, SpliceError
from splice.integration import Script
from splice.store import LogLine
from splice.store._state import connection_scope_id

if TYPE_CHECKING:
    from splice.store import Connection, Store

logger = logging.getLogger("splice")
LogCallback = Callable[[LogLine], None]
NestedRunner = Callable[[str, Any, str | None], Awaitable[Any]]
_LEVELS = frozenset({"debug", "info", "warning", "error"})
#: most log lines a run keeps; the rest are counted and dropped (a flooding script)
MAX_LOG_LINES = wire.MAX_LOG_LINES
MAX_LOG_MESSAGE = 16_384
#: most retries a script may ask for on one call
MAX_RETRIES = 10
#: log lines are stored in batches of this many while a run goes on
LOG_BATCH = 500
#: calls one child may have in flight; past it the parent stops reading its socket for a while
MAX_INFLIGHT = 64


@dataclass
class RunGateway:
    """Serves one run's calls; ``done`` is filled when the script finishes."""

    run_id: str
    script: Script
    store: Store
    connection: Connection | None
    api: ConnectionApi | None
    internal_api: ConnectionApi | None
    redactor: Redactor
    nested: NestedRunner
    on_log: LogCallback | None = None
    logs: list[LogLine] = field(default_factory=list)
    log_count: int = 0
    dropped_logs: int = 0
    done: dict[str, Any] | None = None
    #: syncs: the run's record writer (buffers, writes and counts ctx.records)
    records: RecordWriter | None = None
    #: HTTP attempts made so far, and those answered with success (a sync's progress: its pages)
    requests: int = 0
    pages: int = 0
    _writing: asyncio.Future[None] | None = None

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
            message=message if clean else self.redactor.text(message),
            fields=(fields or {}) if clean else self.redactor.value(fields or {}),
        )
        self.logs.append(line)
        if self.on_log is not None:
            self.on_log(line)
        if len(self.logs) >= LOG_BATCH:
            self._write(self.logs)
            self.logs = []

    def _write(self, batch: list[LogLine]) -> None:
        """Store a batch while the run goes on, after the batches before it (order is kept)."""
        previous = self._writing

        async def write() -> None:
            if previous is not None:
                await previous
            await self.store.runs.add_logs(self.run_id, batch)

        self._writing = asyncio.ensure_future(write())

    async def flush(self) -> None:
        """Store every log line not yet stored, noting any that were dropped."""
        if self.dropped_logs:
            message = f"{self.dropped_logs} log lines dropped (a run keeps at most {MAX_LOG_LINES:,})"
            self.logs.append(LogLine(ts=datetime.now(UTC), level="warning", message=message, fields={}))
            self.dropped_logs = 0
        if self.logs:
            self._write(self.logs)
            self.logs = []
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
                _number(message.get("ts")),
            )
        elif kind == "dropped":
            count = message.get("count")
            if isinstance(count, int) and 0 < count < 1 << 40:
                self.dropped_logs += count
        elif kind == "done":
            self.done = message

    # --- calls -----------------------------------------------------------------------

    async def handle(self, op: str, args: dict[str, Any], blob: bytes) -> tuple[dict[str, Any], bytes]:
        if op == "http":
            client = self._client(args)
            response = await client.call(self._spec(args, blob))
            return _head(response), response.content
        if op.startswith("records."):
            return await self._records(op.removeprefix("records."), args, blob), b""
        if op.startswith("checkpoint."):
            return await self._checkpoint(op.removeprefix("checkpoint."), args), b""
        handler = self._handlers.get(op)
        if handler is None:
            raise InvalidInput(f"unknown ctx operation {op!r}")
        return await handler(self, args), b""

    async def handle_stream(self, args: dict[str, Any], blob: bytes) -> tuple[dict[str, Any], AsyncIterator[bytes]]:
        client = self._client(args)
        response, chunks = await client.call_stream(self._spec(args, blob))
        return _head(response), chunks

    def _client(self, args: dict[str, Any]) -> ConnectionApi:
        if args.get("target") == "internal":
            if self.internal_api is None:
                raise InvalidInput(
                    "ctx.internal_api is not configured",
                    hint="add an [internal_api] section with base_url to splice.toml",
                )
            return self.internal_api
        if self.api is None:
            raise InvalidInput(f"{self.script.qualname} runs without a connection, so ctx.api is unavailable")
        return self.api

    @staticmethod
    def _spec(args: dict[str, Any], blob: bytes) -> CallSpec:
        auth = args.get("auth")
        return CallSpec(
            method=str(args.get("method", "GET")),
            path=str(args.get("path", "")),
            query=[(str(k), str(v)) for k, v in args.get("query") or []],
            headers={str(k): str(v) for k, v in (args.get("headers") or {}).items()},
            content=blob if args.get("has_body") else None,
            base_uri=args.get("base_uri"),
            basic_auth=(str(auth[0]), str(auth[1])) if auth else None,
            timeout=_number(args.get("timeout")),
            retries=_retries(args.get("retries")),
        )

    def _connection(self) -> Connection:
        if self.connection is None:
            raise InvalidInput(f"{self.script.qualname} runs without a connection")
        return self.connection

    def _scope(self, scope: Any) -> tuple[str, str]:
        """(scope, scope_id) for a script's state; connection-owned ids go when the connection does."""
        integration = self.script.integration.name
        if scope == "global":
            return "global", ""
        if scope == "integration":
            return "integration", integration
        if scope == "connection":
            return "connection", connection_scope_id(integration, self._connection().id)
        if scope == "script":
            conn = self.connection.id if self.connection else ""
            return "script", connection_scope_id(integration, conn, self.script.name)
        raise InvalidInput(f"state scope must be script, connection, integration or global, not {scope!r}")

    async def _metadata_get(self, args: dict[str, Any]) -> dict[str, Any]:
        conn = self._connection()
        return {"value": await self.store.connections.get_metadata(conn.integration, conn.id)}

    async def _metadata_set(self, args: dict[str, Any]) -> dict[str, Any]:
        conn = self._connection()
        await self.store.connections.set_metadata(conn.integration, conn.id, args.get("value"))
        return {}

    async def _metadata_update(self, args: dict[str, Any]) -> dict[str, Any]:
        conn = self._connection()
        return {"value": await self.store.connections.update_metadata(conn.integration, conn.id, args.get("value"))}

    async def _state_get(self, args: dict[str, Any]) -> dict[str, Any]:
        missing = object()
        value = await self.store.state.get(*self._scope(args.get("scope")), str(args.get("key")), missing)
        return {"found": False} if value is missing else {"found": True, "value": value}

    async def _state_put(self, args: dict[str, Any]) -> dict[str, Any]:
        await self.store.state.put(*self._scope(args.get("scope")), str(args.get("key")), args.get("value"))
        return {}

    async def _state_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"deleted": await self.store.state.delete(*self._scope(args.get("scope")), str(args.get("key")))}

    async def _state_keys(self, args: dict[str, Any]) -> dict[str, Any]:
        prefix = args.get("prefix")
        return {"keys": await self.store.state.keys(*self._scope(args.get("scope")), prefix=prefix)}

    async def _records(self, op: str, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        if self.records is None:
            raise InvalidInput("ctx.records is only available to syncs")
        try:
            items = orjson.loads(blob) if blob else []
        except orjson.JSONDecodeError:
            raise InvalidInput("records batch is not valid JSON") from None
        invalid = args.get("invalid") if isinstance(args.get("invalid"), list) else []
        return await self.records.handle(op, str(args.get("model")), items, invalid)

    async def _checkpoint(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        if self.records is None:
            raise InvalidInput("ctx.checkpoint is only available to syncs")
        return await self.records.checkpoint(op, args.get("value"))

    async def _trigger_action(self, args: dict[str, Any]) -> dict[str, Any]:
        """Run another action on this run's own connection, never on someone else's.

        A nested run gets its connection's credentials, so letting a script name any
        connection would let it act for (or read the credentials of) another customer. An
        action of another integration runs without a connection: ids are per integration,
        and the same id there may well be another customer's.
        """
        name = str(args.get("name") or "")
        if "." not in name:
            name = f"{self.script.integration.name}.{name}"
        own = self.connection.id if self.connection else None
        asked = args.get("connection")
        if asked is not None and asked != own:
            raise InvalidInput(
                f"trigger_action may only use this run's own connection ({own or 'none'}), not {asked!r}",
                code="CONNECTION_NOT_ALLOWED",
                hint="leave connection= out; to act for another connection, start a run for it from outside",
            )
        same_integration = name.partition(".")[0] == self.script.integration.name
        return {"output": await self.nested(name, args.get("input"), own if same_integration else None)}

    _handlers: ClassVar[dict[str, Callable[[RunGateway, dict[str, Any]], Awaitable[dict[str, Any]]]]] = {
        "metadata.get": _metadata_get,
        "metadata.set": _metadata_set,
        "metadata.update": _metadata_update,
        "state.get": _state_get,
        "state.put": _state_put,
        "state.delete": _state_delete,
        "state.keys": _state_keys,
        "trigger_action": _trigger_action,
    }

    # --- the child's socket ------------------------------------------------------------

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, start: dict[str, Any]) -> None:
        """Send ``start``, then answer the child's calls until it reports done or goes away."""
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
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, writer: asyncio.StreamWriter, header: dict[str, Any], blob: bytes) -> None:
        rid = header.get("id")
        op = str(header.get("op"))
        args = header.get("args") if isinstance(header.get("args"), dict) else {}
        try:
            if op == "http.stream":
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
            error = SpliceError(f"internal error: {type(exc).__name__}: {exc}", code="INTERNAL_ERROR")
            writer.write(wire.encode({"t": "reply", "id": rid, "ok": False, "error": error.to_dict()}))
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
        return self.redactor.value(exc.to_dict())


def _head(response: Response) -> dict[str, Any]:
    """Status, headers and the URL with secrets masked (paginators resolve links against it)."""
    headers = [[str(k), v] for k, v in response.headers.items()]
    return {"status": response.status, "headers": headers, "url": response.url}


def _load_output(blob: bytes) -> Any:
    try:
        return orjson.loads(blob)
    except orjson.JSONDecodeError:
        return None


def _retries(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_RETRIES:
        raise InvalidInput(f"retries must be a whole number from 0 to {MAX_RETRIES}, not {value!r}")
    return value


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
