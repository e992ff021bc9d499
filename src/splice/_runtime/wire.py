"""Framing for the socket between a run's child process and its parent.

A frame is ``!II`` (header length, blob length), a JSON header, then an optional binary
blob (request and response bodies travel as raw bytes, never base64). The parent treats
every header as untrusted input: it is JSON, never pickle, so a hostile child can at worst
send nonsense the parent rejects.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

import orjson

_HEAD = struct.Struct("!II")
#: Largest header a peer may send; bodies are bounded separately by the caller.
MAX_HEADER = 16 * 1024 * 1024
MAX_BLOB = 256 * 1024 * 1024
#: most log lines one run keeps. The child stops sending past it and reports how many it
#: dropped; the parent enforces it again, for a child that does not play along.
MAX_LOG_LINES = 100_000


class WireError(Exception):
    """The peer sent something that is not a frame, or went away mid-frame."""


def encode(header: dict[str, Any], blob: bytes = b"") -> bytes:
    data = orjson.dumps(header, default=_default)
    return _HEAD.pack(len(data), len(blob)) + data + blob


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


async def read_frame(reader: asyncio.StreamReader, max_blob: int = MAX_BLOB) -> tuple[dict[str, Any], bytes]:
    """Read one frame; ``EOFError`` when the peer closed cleanly between frames."""
    try:
        head = await reader.readexactly(_HEAD.size)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise EOFError from None
        raise WireError("peer closed mid-frame") from None
    hlen, blen = _HEAD.unpack(head)
    if hlen > MAX_HEADER or blen > max_blob:
        raise WireError(f"frame too large ({hlen} + {blen} bytes)")
    try:
        data = await reader.readexactly(hlen + blen)
    except asyncio.IncompleteReadError:
        raise WireError("peer closed mid-frame") from None
    try:
        header = orjson.loads(data[:hlen])
    except orjson.JSONDecodeError as exc:
        raise WireError(f"bad frame header: {exc}") from None
    if not isinstance(header, dict):
        raise WireError("frame header is not an object")
    return header, data[hlen:]


def send_control(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    """Send one message on a SOCK_SEQPACKET control socket, optionally passing file descriptors."""
    data = orjson.dumps(message)
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def recv_control(sock: socket.socket, maxfds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
    """Receive one control message (``None`` at EOF) and any file descriptors sent with it."""
    if maxfds:
        data, fds, _flags, _addr = socket.recv_fds(sock, 65536, maxfds)
    else:
        data, fds = sock.recv(65536), []
    if not data:
        return None, list(fds)
    return orjson.loads(data), list(fds)
