"""``ctx.engine``: state by resource and lookup caches, for the script's own integration unless granted more.

Every operation names a resource (a state's ``resource_type`` and id, a lookup cache's id);
:func:`splice._access.check_reach` refuses one owned by an integration that ``[engine] grants``
does not open to the script's integration (``ENGINE_NOT_ALLOWED``) before anything is read, so
a refusal says nothing about whether the resource exists. The answers are the services' own:
state values and lookup entries, never a connection's credentials or a token's secret.
"""

from __future__ import annotations

from typing import Any

from splice._access import check_reach, reaches
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

    # --- exports and imports: find / get / create / update / patch / delete / run ----------

    def _resources(self, args: dict[str, Any]) -> tuple[str, Any]:
        kind = args.get("type")
        service = self._services().resources.get(kind) if isinstance(kind, str) else None
        if service is None:
            known = ", ".join(sorted(self._services().resources))
            raise InvalidInput(f"ctx.engine has no resource type {kind!r} (it has: {known})")
        return str(kind), service

    def _id(self, kind: str, args: dict[str, Any]) -> str:
        id = args.get("id")
        if not isinstance(id, str):
            raise InvalidInput(f"a resource id is a string like 'acme.contacts', not {id!r}")
        self._reach(kind, id)
        return id

    def _document(self, kind: str, args: dict[str, Any]) -> dict[str, Any]:
        document = args.get("document")
        if not isinstance(document, dict):
            raise InvalidInput(f"a resource document is a JSON object, not {type(document).__name__}")
        self._reach(kind, f"{document.get('integration')}.{document.get('name')}")
        return document

    async def resource_find(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        service = self._resources(args)[1]
        home, grants = self.scope.script.integration.name, self.scope.grants
        found = await service.find(external_id=args.get("external_id"))
        return {"found": [d for d in found if reaches(home, d["integration"], grants)]}

    async def resource_get(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        kind, service = self._resources(args)
        return {"document": await service.get(self._id(kind, args))}

    async def resource_create(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        kind, service = self._resources(args)
        return {"document": await service.create(self._document(kind, args))}

    async def resource_update(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        kind, service = self._resources(args)
        return {"document": await service.update(self._id(kind, args), args.get("document"))}

    async def resource_patch(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        kind, service = self._resources(args)
        return {"document": await service.patch(self._id(kind, args), args.get("operations"))}

    async def resource_delete(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        kind, service = self._resources(args)
        await service.delete(self._id(kind, args))
        return {}

    async def resource_run(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        """An export's page or an import's records, always on this run's connection id: naming
        another would let a script act with another customer's credentials."""
        kind, service = self._resources(args)
        target = self._document(kind, args) if args.get("document") is not None else self._id(kind, args)
        given = dict(args.get("options") or {})
        unknown = sorted(set(given) - _RUN_OPTIONS[kind])
        if unknown:
            raise InvalidInput(f"ctx.engine.{kind} run: unknown option {unknown[0]!r} "
                               f"(it takes {', '.join(sorted(_RUN_OPTIONS[kind]))})")  # fmt: skip
        conn = self.scope.connection
        options = {**given, "connection": conn.id if conn is not None else None}
        if kind == "exports":
            return {"result": await service.run_virtual_with_paging(target, **options)}
        if args.get("mapping_only"):
            return {"result": await service.run_mapping(target, args.get("data"), **options)}
        return {"result": await service.run(target, args.get("data"), **options)}


#: what a script may pass when it runs an export or import (never a connection or run fields)
_RUN_OPTIONS = {
    "exports": frozenset({"paged_export_state", "start_date", "end_date", "data", "settings"}),
    "imports": frozenset({"settings"}),
}
