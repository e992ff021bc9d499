"""``ctx.state``: JSON values by key; the default scope is this script × this connection."""

from __future__ import annotations

from typing import Any, Literal

from splice._runtime.capability import STATE
from splice._runtime.channel import Channel
from splice.context._json import json_value, state_key

StateScope = Literal["script", "connection", "integration", "global"]


class State:
    """``ctx.state``: JSON values by key; default scope is this script × this connection."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def get(self, key: str, default: Any = None, scope: StateScope = "script") -> Any:
        result, _ = await self._channel.call(STATE.op("get"), {"key": state_key(key), "scope": scope})
        return result["value"] if result.get("found") else default

    async def put(self, key: str, value: Any, scope: StateScope = "script") -> None:
        key = state_key(key)
        value = json_value(value, f"state value for {key!r}")
        await self._channel.call(STATE.op("put"), {"key": key, "scope": scope, "value": value})

    async def delete(self, key: str, scope: StateScope = "script") -> bool:
        return (await self._channel.call(STATE.op("delete"), {"key": state_key(key), "scope": scope}))[0]["deleted"]

    async def keys(self, prefix: str | None = None, scope: StateScope = "script") -> list[str]:
        return (await self._channel.call(STATE.op("keys"), {"prefix": prefix, "scope": scope}))[0]["keys"]
