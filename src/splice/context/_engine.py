"""``ctx.engine``: splice's own resources by id — state by resource, lookup caches.

A script reaches its own integration's resources (its integration, its connections, flows and
lookup caches named ``its_integration.*``); ``[engine] grants`` in ``splice.toml`` opens
others' (``ENGINE_NOT_ALLOWED`` otherwise). The shapes are the Python API's
(``rt.resource_state``, ``rt.lookups``)::

    await ctx.engine.state.put("flows", "acme.onboard", "last_order", "SO-1001")
    await ctx.engine.lookups.put_data("acme.skus", [{"key": "A-1", "value": "4711"}])
    page = await ctx.engine.lookups.get_data("acme.skus", starts_with="A-")
"""

from __future__ import annotations

from typing import Any

from splice._runtime.capability import ENGINE
from splice._runtime.channel import Channel
from splice.context._json import json_value, state_key


class EngineState:
    """``ctx.engine.state``: JSON values by key for a resource (``"flows"``, ``"acme.onboard"``)."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def _call(self, verb: str, resource_type: str, id: str, **args: Any) -> dict[str, Any]:
        return (await self._channel.call(ENGINE.op(verb), {"resource_type": resource_type, "id": id, **args}))[0]

    async def get(self, resource_type: str, id: str, key: str, default: Any = None) -> Any:
        result = await self._call("state_get", resource_type, id, key=state_key(key))
        return result["value"] if result.get("found") else default

    async def put(self, resource_type: str, id: str, key: str, value: Any) -> None:
        key = state_key(key)
        await self._call("state_put", resource_type, id, key=key, value=json_value(value, f"state value for {key!r}"))

    async def delete(self, resource_type: str, id: str, key: str) -> bool:
        return bool((await self._call("state_delete", resource_type, id, key=state_key(key)))["deleted"])

    async def keys(self, resource_type: str, id: str, prefix: str | None = None) -> list[str]:
        return list((await self._call("state_keys", resource_type, id, prefix=prefix))["keys"])


class EngineLookups:
    """``ctx.engine.lookups``: lookup caches' entries (string keys and values) by cache id."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def _call(self, verb: str, cache: str, **args: Any) -> dict[str, Any]:
        return (await self._channel.call(ENGINE.op(verb), {"cache": cache, **args}))[0]

    async def get_data(
        self,
        cache: str,
        keys: list[str] | None = None,
        starts_with: str | None = None,
        page_size: int = 1000,
        start_after_key: str | None = None,
    ) -> dict[str, Any]:
        """``{"data": [{key, value}], "next_page_url"}``; pass the last key as ``start_after_key`` for the next page."""
        args = {"keys": keys, "starts_with": starts_with, "page_size": page_size, "start_after_key": start_after_key}
        return await self._call("lookups_get", cache, **json_value(args, "the lookup query"))

    async def put_data(self, cache: str, entries: list[dict[str, str]]) -> list[dict[str, Any]]:
        """Store ``[{key, value}]`` (≤ 1,000 a call); a result per entry: ``status`` or ``error``."""
        entries = json_value(entries, "the lookup entries", "entries")
        return list((await self._call("lookups_put", cache, entries=entries))["results"])

    async def delete_data(self, cache: str, keys: list[str]) -> list[dict[str, Any]]:
        return list((await self._call("lookups_delete", cache, keys=json_value(keys, "the keys", "keys")))["results"])

    async def purge_data(self, cache: str) -> int:
        return int((await self._call("lookups_purge", cache))["purged"])


class EngineResources:
    """``ctx.engine.exports``, ``imports``, ``lookup_caches``, ``async_helpers``, ``file_definitions``:
    find, get, create, update, patch, delete (and run).

    Runs use this run's connection id (the same customer); an id or a document of another
    integration needs a grant in ``splice.toml``.
    """

    def __init__(self, channel: Channel, type: str) -> None:
        self._channel = channel
        self._type = type

    async def _call(self, verb: str, **args: Any) -> dict[str, Any]:
        return (await self._channel.call(ENGINE.op(verb), {"type": self._type, **json_value(args, "the call")}))[0]

    async def find(self, external_id: str | None = None) -> list[dict[str, Any]]:
        return list((await self._call("resource_find", external_id=external_id))["found"])

    async def get(self, id: str) -> dict[str, Any]:
        return dict((await self._call("resource_get", id=id))["document"])

    async def create(self, document: dict[str, Any]) -> dict[str, Any]:
        return dict((await self._call("resource_create", document=document))["document"])

    async def update(self, id: str, document: dict[str, Any]) -> dict[str, Any]:
        return dict((await self._call("resource_update", id=id, document=document))["document"])

    async def patch(self, id: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
        return dict((await self._call("resource_patch", id=id, operations=operations))["document"])

    async def delete(self, id: str) -> None:
        await self._call("resource_delete", id=id)

    async def _run(self, target: str | dict[str, Any], **args: Any) -> Any:
        where = {"document": target} if isinstance(target, dict) else {"id": target}
        return (await self._call("resource_run", **where, **args))["result"]


class EngineExports(EngineResources):
    async def run(self, export: str | dict[str, Any], **options: Any) -> dict[str, Any]:
        """A page (the first, or the one ``paged_export_state=`` names): ``{run_id, data, errors,
        paged_export_state}``; ``options``: ``start_date``, ``end_date``, ``data``, ``settings``."""
        return dict(await self._run(export, options=options))

    run_virtual_with_paging = run


class EngineImports(EngineResources):
    async def run(self, import_: str | dict[str, Any], data: list[Any], **options: Any) -> dict[str, Any]:
        """``{run_id, results, errors}``: one result per record; failed ones kept as record errors."""
        return dict(await self._run(import_, data=data, options=options))

    async def run_mapping(self, import_: str | dict[str, Any], data: list[Any]) -> list[dict[str, Any]]:
        return list(await self._run(import_, data=data, mapping_only=True))


class Engine:
    """``ctx.engine``: ``state`` by resource, ``lookups`` (entries), and each resource type's CRUD."""

    def __init__(self, channel: Channel) -> None:
        self.state = EngineState(channel)
        self.lookups = EngineLookups(channel)
        self.lookup_caches = EngineResources(channel, "lookup_caches")
        self.async_helpers = EngineResources(channel, "async_helpers")
        self.file_definitions = EngineResources(channel, "file_definitions")
        self.exports = EngineExports(channel, "exports")
        self.imports = EngineImports(channel, "imports")
