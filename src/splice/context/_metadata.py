"""``ctx.metadata``: free-form JSON stored on the run's connection."""

from __future__ import annotations

from typing import Any

from splice._runtime.capability import METADATA
from splice._runtime.channel import Channel
from splice.context._json import json_object


class Metadata:
    """``ctx.metadata``: free-form JSON stored on the connection."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def get(self) -> dict[str, Any]:
        return (await self._channel.call(METADATA.op("get"), {}))[0]["value"]

    async def set(self, value: dict[str, Any]) -> None:
        await self._channel.call(METADATA.op("set"), {"value": json_object(value, "metadata")})

    async def update(self, value: dict[str, Any]) -> dict[str, Any]:
        return (await self._channel.call(METADATA.op("update"), {"value": json_object(value, "metadata")}))[0]["value"]
