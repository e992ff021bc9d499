"""``ctx.metadata``: free-form JSON stored on the run's connection."""

from __future__ import annotations

from typing import Any

from splice._runtime.capabilities._scope import Handler
from splice._runtime.capability import METADATA
from splice.errors import InvalidInput
from splice.store import Connection


class MetadataHandler(Handler):
    spec = METADATA

    async def get(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        conn = self._connection()
        return {"value": await self.scope.store.connections.get_metadata(conn.integration, conn.id)}

    async def set(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        conn = self._connection()
        await self.scope.store.connections.set_metadata(conn.integration, conn.id, args.get("value"))
        return {}

    async def update(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        conn = self._connection()
        value = await self.scope.store.connections.update_metadata(conn.integration, conn.id, args.get("value"))
        return {"value": value}

    def _connection(self) -> Connection:
        if self.scope.connection is None:
            raise InvalidInput(f"{self.scope.script.qualname} runs without a connection")
        return self.scope.connection
