"""``ctx.engine``: state by resource and lookup caches, for the script's own integration unless granted more.

Every operation names a resource (a state's ``resource_type`` and id, a lookup cache's id);
:func:`splice._access.check_reach` refuses one owned by an integration that ``[engine] grants``
does not open to the script's integration (``ENGINE_NOT_ALLOWED``) before anything is read, so
a refusal says nothing about whether the resource exists. The answers are the services' own:
state values and lookup entries, never a connection's credentials or a token's secret.
"""

from __future__ import annotations

from typing import Any

from splice._access import check_reach
from splice._runtime.capabilities._scope import EngineServices, Handler
from splice._runtime.capability import ENGINE
from splice.errors import InternalError, InvalidInput

_MISSING = object()


class EngineHandler(Handler):
    spec = ENGINE

    def _services(self) -> EngineServices:
        if self.scope.engine is None:
            raise InternalError("ctx.engine is not available in this runner (it was built without the services)")
        return self.scope.engine

    def _reach(self, resource_type: str, resource_id: Any) -> None:
        check_reach(self.scope.script.integration.name, resource_type, resource_id, self.scope.grants)

    async def _state(self, args: dict[str, Any]) -> tuple[str, str]:
        resource_type, resource_id = args.get("resource_type"), args.get("id")
        self._services().state.check_type(resource_type)
        self._reach(str(resource_type), resource_id)
        return str(resource_type), str(resource_id)

    def _cache(self, args: dict[str, Any]) -> str:
        cache = args.get("cache")
        if not isinstance(cache, str):
            raise InvalidInput(f"a lookup cache id must be a string like 'acme.skus', not {cache!r}")
        self._reach("lookup_caches", cache)
        return cache

    async def state_get(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        target = await self._state(args)
        value = await self._services().state.get(*target, str(args.get("key")), _MISSING)
        return {"found": False} if value is _MISSING else {"found": True, "value": value}

    async def state_put(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        target = await self._state(args)
        await self._services().state.put(*target, str(args.get("key")), args.get("value"))
        return {}

    async def state_delete(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        target = await self._state(args)
        return {"deleted": await self._services().state.delete(*target, str(args.get("key")))}

    async def state_keys(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        target = await self._state(args)
        return {"keys": await self._services().state.keys(*target, prefix=args.get("prefix"))}

    async def lookups_get(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        cache = self._cache(args)
        return await self._services().lookups.get_data(
            cache, keys=args.get("keys"), starts_with=args.get("starts_with"),
            page_size=args.get("page_size", 1000), start_after_key=args.get("start_after_key"),
        )  # fmt: skip

    async def lookups_put(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        return {"results": await self._services().lookups.put_data(self._cache(args), args.get("entries"))}  # type: ignore[arg-type]

    async def lookups_delete(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        return {"results": await self._services().lookups.delete_data(self._cache(args), args.get("keys"))}  # type: ignore[arg-type]

    async def lookups_purge(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        return {"purged": await self._services().lookups.purge_data(self._cache(args))}
