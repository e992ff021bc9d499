"""``ctx.trigger_action``: run another action of this connection and get its output."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from splice._runtime.capability import ACTIONS
from splice._runtime.channel import Channel


class Actions:
    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def trigger(self, name: str, input: Any = None, connection: str | None = None) -> Any:
        """Run another action (``"create_contact"`` or ``"acme.create_contact"``); returns its output.

        It runs as its own child run, on this run's connection only (``CONNECTION_NOT_ALLOWED``
        for another one).
        """
        if isinstance(input, BaseModel):
            input = input.model_dump(mode="json")
        args = {"name": name, "input": input, "connection": connection}
        result, _ = await self._channel.call(ACTIONS.op("trigger"), args)
        return result["output"]
