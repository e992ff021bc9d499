"""How a script's ``ctx`` reaches the parent: one small protocol, two implementations.

:class:`SocketChannel` runs in the forked child and multiplexes calls over the socketpair
(many ``ctx.api.get`` may be in flight at once under ``asyncio.gather``).
:class:`LocalChannel` is the in-process debugging mode: the same calls go straight to the
run's gateway, so scripts behave identically in both modes.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from splice._runtime import wire
from splice._runtime.capability import HTTP
from splice.errors import InternalError, error_from_dict

Handler = Callable[[str, dict[str, Any], bytes], Awaitable[tuple[dict[str, Any], bytes]]]
StreamHandler = Callable[[dict[str, Any], bytes], Awaitable[tuple[dict[str, Any], AsyncIterator[bytes]]]]
Emitter = Callable[[dict[str, Any]], None]


class Channel(Protocol):
    async def call(self, op: str, args: dict[str, Any], blob: bytes = b"") -> tuple[dict[str, Any], bytes]:
        """Ask the parent to do ``op``; raises the parent's error as a SpliceError."""
        ...

    async def stream(self, args: dict[str, Any], blob: bytes = b"") -> tuple[dict[str, Any], AsyncIterator[bytes]]:
        """An HTTP call whose body arrives as chunks."""
        ...

    def emit(self, message: dict[str, Any]) -> None:
        """Fire-and-forget message to the parent (log lines)."""
        ...


class LocalChannel:
    """In-process channel: calls the gateway's handlers directly."""

    def __init__(self, handle: Handler, handle_stream: StreamHandler, emit: Emitter) -> None:
        self._handle = handle
        self._handle_stream = handle_stream
        self._emit = emit

    async def call(self, op: str, args: dict[str, Any], blob: bytes = b"") -> tuple[dict[str, Any], bytes]:
        return await self._handle(op, args, blob)

    async def stream(self, args: dict[str, Any], blob: bytes = b"") -> tuple[dict[str, Any], AsyncIterator[bytes]]:
        return await self._handle_stream(args, blob)

    def emit(self, message: dict[str, Any]) -> None:
        self._emit(message)


class SocketChannel:
    """The child's end of the socketpair: request ids, replies and streamed chunks."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[tuple[dict[str, Any], bytes]]] = {}
        self._streams: dict[int, asyncio.Queue[tuple[dict[str, Any], bytes]]] = {}
        self._reader_task: asyncio.Task[None] | None = None
        #: a session child's next run (``start``), or its end (``exit``, or None when the parent left)
        self._commands: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def start(self) -> None:
        self._reader_task = asyncio.get_running_loop().create_task(self._read_loop())

    async def _read_loop(self) -> None:
        try:
            while True:
                header, blob = await wire.read_frame(self.reader)
                if header.get("t") in ("start", "exit"):
                    self._commands.put_nowait(header)
                    continue
                rid = header.get("id")
                queue = self._streams.get(rid) if isinstance(rid, int) else None
                if queue is not None and header.get("t") in ("chunk", "end"):
                    queue.put_nowait((header, blob))
                    continue
                future = self._pending.pop(rid, None) if isinstance(rid, int) else None
                if future is not None and not future.done():
                    future.set_result((header, blob))
        except (EOFError, wire.WireError, ConnectionResetError):
            self._commands.put_nowait(None)
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(InternalError("the parent process went away", code="PARENT_GONE"))

    async def call(self, op: str, args: dict[str, Any], blob: bytes = b"") -> tuple[dict[str, Any], bytes]:
        rid = next(self._ids)
        future: asyncio.Future[tuple[dict[str, Any], bytes]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        self.writer.write(wire.encode({"t": "call", "id": rid, "op": op, "args": args}, blob))
        await self.writer.drain()
        header, data = await future
        if not header.get("ok"):
            raise error_from_dict(header.get("error") or {})
        return header.get("result") or {}, data

    async def stream(self, args: dict[str, Any], blob: bytes = b"") -> tuple[dict[str, Any], AsyncIterator[bytes]]:
        rid = next(self._ids)
        queue: asyncio.Queue[tuple[dict[str, Any], bytes]] = asyncio.Queue()
        self._streams[rid] = queue
        future: asyncio.Future[tuple[dict[str, Any], bytes]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        self.writer.write(wire.encode({"t": "call", "id": rid, "op": HTTP.op("stream"), "args": args}, blob))
        header, _ = await future
        if not header.get("ok"):
            self._streams.pop(rid, None)
            raise error_from_dict(header.get("error") or {})

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while True:
                    frame, data = await queue.get()
                    if frame.get("t") == "end":
                        if frame.get("error"):
                            raise error_from_dict(frame["error"])
                        return
                    yield data
            finally:
                self._streams.pop(rid, None)

        return header.get("result") or {}, chunks()

    def emit(self, message: dict[str, Any]) -> None:
        self.writer.write(wire.encode(message))

    async def next_run(self) -> dict[str, Any] | None:
        """A session child's next ``start`` message; None when the parent ends the session."""
        command = await self._commands.get()
        return command if command is not None and command.get("t") == "start" else None

    async def report(self, message: dict[str, Any], blob: bytes = b"") -> None:
        """Send a run's ``done`` and keep the channel open for the next run (a session)."""
        self.writer.write(wire.encode(message, blob))
        await self.writer.drain()

    async def finish(self, message: dict[str, Any], blob: bytes = b"") -> None:
        """Send the final message and wait until every byte has reached the parent.

        ``drain()`` alone returns while up to the high-water mark is still buffered; the
        child exits right after this, so the buffer limit goes to zero and the socket is closed.
        """
        self.writer.transport.set_write_buffer_limits(high=0)
        self.writer.write(wire.encode(message, blob))
        await self.writer.drain()
        self.writer.close()
        await self.writer.wait_closed()
