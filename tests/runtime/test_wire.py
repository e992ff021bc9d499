"""The child↔parent frame format: round trips, and what a hostile peer cannot do."""

from __future__ import annotations

import asyncio
import struct

import pytest

from splice._runtime import wire


async def feed(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def test_round_trip_with_a_binary_blob() -> None:
    reader = await feed(wire.encode({"t": "reply", "id": 1}, b"\x00\xffbody") + wire.encode({"t": "end"}))
    assert await wire.read_frame(reader) == ({"t": "reply", "id": 1}, b"\x00\xffbody")
    assert await wire.read_frame(reader) == ({"t": "end"}, b"")
    with pytest.raises(EOFError):
        await wire.read_frame(reader)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (struct.pack("!II", 10, 0) + b"{}", "closed mid-frame"),
        (struct.pack("!II", 2, 0) + b"[]", "not an object"),
        (struct.pack("!II", 3, 0) + b"{x}", "bad frame header"),
        (struct.pack("!II", wire.MAX_HEADER + 1, 0), "too large"),
        (b"\x00\x00", "closed mid-frame"),
    ],
)
async def test_malformed_frames_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(wire.WireError, match=message):
        await wire.read_frame(await feed(data))
