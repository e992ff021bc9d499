"""``ctx.state``: JSON values by key, in the scope the script names (script × connection by default)."""

from __future__ import annotations

from typing import Any

from splice._runtime.capabilities._scope import Handler
from splice._runtime.capability import STATE
from splice.errors import InvalidInput
from splice.store._state import connection_scope_id


class StateHandler(Handler):
    spec = STATE

    async def get(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        missing = object()
        value = await self.scope.store.state.get(*self._scope(args.get("scope")), str(args.get("key")), missing)
        return {"found": False} if value is missing else {"found": True, "value": value}

    async def put(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        await self.scope.store.state.put(*self._scope(args.get("scope")), str(args.get("key")), args.get("value"))
        return {}

    async def delete(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        return {"deleted": await self.scope.store.state.delete(*self._scope(args.get("scope")), str(args.get("key")))}

    async def keys(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        keys = await self.scope.store.state.keys(*self._scope(args.get("scope")), prefix=args.get("prefix"))
        return {"keys": keys}

    def _scope(self, scope: Any) -> tuple[str, str]:
        """(scope, scope_id) for a script's state; connection-owned ids go when the connection does."""
        script, conn = self.scope.script, self.scope.connection
        integration = script.integration.name
        if scope == "global":
            return "global", ""
        if scope == "integration":
            return "integration", integration
        if scope == "connection":
            if conn is None:
                raise InvalidInput(f"{script.qualname} runs without a connection")
            return "connection", connection_scope_id(integration, conn.id)
        if scope == "script":
            return "script", connection_scope_id(integration, conn.id if conn else "", script.name)
        raise InvalidInput(f"state scope must be script, connection, integration or global, not {scope!r}")
