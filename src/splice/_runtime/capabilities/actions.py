"""``ctx.trigger_action``: run another action, on this run's own connection only."""

from __future__ import annotations

from typing import Any

from splice._runtime.capabilities._scope import Handler
from splice._runtime.capability import ACTIONS
from splice.errors import InvalidInput


class ActionsHandler(Handler):
    spec = ACTIONS

    async def trigger(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        """Run another action on this run's own connection, never on someone else's.

        A nested run gets its connection's credentials, so letting a script name any
        connection would let it act for (or read the credentials of) another customer. An
        action of another integration runs without a connection: ids are per integration,
        and the same id there may well be another customer's.
        """
        script = self.scope.script
        name = str(args.get("name") or "")
        if "." not in name:
            name = f"{script.integration.name}.{name}"
        own = self.scope.connection.id if self.scope.connection else None
        asked = args.get("connection")
        if asked is not None and asked != own:
            raise InvalidInput(
                f"trigger_action may only use this run's own connection ({own or 'none'}), not {asked!r}",
                code="CONNECTION_NOT_ALLOWED",
                hint="leave connection= out; to act for another connection, start a run for it from outside",
            )
        same_integration = name.partition(".")[0] == script.integration.name
        return {"output": await self.scope.nested(name, args.get("input"), own if same_integration else None)}
