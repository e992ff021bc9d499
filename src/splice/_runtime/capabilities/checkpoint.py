"""``ctx.checkpoint`` (syncs): where the sync got to, written with the records buffered before it."""

from __future__ import annotations

from typing import Any

from splice._runtime.capabilities._scope import Handler
from splice._runtime.capability import CHECKPOINT


class CheckpointHandler(Handler):
    spec = CHECKPOINT

    async def get(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        return await self._checkpoint("get", args)

    async def save(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        return await self._checkpoint("save", args)

    async def clear(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        return await self._checkpoint("clear", args)

    async def _checkpoint(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        assert self.scope.records is not None  # granted together with records
        return await self.scope.records.checkpoint(op, args.get("value"))
