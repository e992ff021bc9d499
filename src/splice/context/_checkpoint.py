"""``ctx.checkpoint`` (syncs): where this sync got to, for this connection."""

from __future__ import annotations

from typing import Any

from splice._runtime.capability import CHECKPOINT
from splice._runtime.channel import Channel
from splice.context._json import json_object


class Checkpoint:
    """``ctx.checkpoint`` (syncs): where this sync got to, for this connection."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def get(self) -> dict[str, Any]:
        return (await self._channel.call(CHECKPOINT.op("get"), {}))[0]["value"]

    async def save(self, value: dict[str, Any]) -> None:
        """Store ``value``; records saved before this call are already durable."""
        await self._channel.call(CHECKPOINT.op("save"), {"value": json_object(value, "checkpoint")})

    async def clear(self) -> None:
        await self._channel.call(CHECKPOINT.op("clear"), {})
