"""``rt.lookups``: lookup caches (Celigo's) — string keys and values by cache, read in pages.

A cache is a platform resource like an export: declared in code (``acme.lookup_cache("skus")``,
read-only) or created over the API (``POST /lookup_caches``, ``ctx.engine.lookup_caches``,
stored), and named ``acme.skus`` either way. :class:`Lookups` is both its CRUD (find, get,
create, update, patch, delete — each answer with the cache's entry count and bytes) and its
data (get, put, delete, purge entries). Deleting a stored cache deletes its entries.

>>> await rt.lookups.create({"integration": "acme", "name": "skus"})
>>> await rt.lookups.put_data("acme.skus", [{"key": "A-1", "value": "4711"}])
[{'key': 'A-1', 'status': 'created'}]
>>> await rt.lookups.get_data("acme.skus", starts_with="A-")
{'data': [{'key': 'A-1', 'value': '4711'}], 'next_page_url': None}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from splice._runtime.versions import Versions
from splice.errors import InvalidInput, NotFound
from splice.integration import LookupCache
from splice.services.resources import Declared, Resources
from splice.store import Store
from splice.store._lookups import MAX_PUT_ENTRIES, check_keys


class Lookups(Resources):
    """Lookup caches of one project: their CRUD, and get, put, delete and purge of their entries."""

    def __init__(self, versions: Versions, store: Store) -> None:
        super().__init__(Declared("lookup_caches", LookupCache.from_json), versions, store)

    async def known(self, cache_id: str) -> bool:
        """Whether ``cache_id`` names a cache, declared in code or stored."""
        if cache_id in self._declared():
            return True
        try:
            await self.store.resources.get(self.type.name, cache_id)
        except NotFound:
            return False
        return True

    async def require(self, cache_id: str) -> None:
        """:class:`NotFound` naming ``cache_id`` and the known caches, unless it is one."""
        if not isinstance(cache_id, str) or not await self.known(cache_id):
            names = sorted(c["id"] for c in await super().find())
            raise NotFound(
                f"unknown lookup cache {cache_id!r} (this project has: {', '.join(names) or 'none'})",
                details={"cache": cache_id, "known": names},
                hint='declare it in code (acme.lookup_cache("skus") is the cache acme.skus) '
                'or create it: POST /lookup_caches {"integration": "acme", "name": "skus"}',
            )

    async def find(
        self, *, external_id: str | None = None, integrations: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Every cache (the code's first), with its entry count and bytes."""
        return await self._sized(await super().find(external_id=external_id, integrations=integrations))

    async def get(self, id: str) -> dict[str, Any]:
        return (await self._sized([await super().get(id)]))[0]

    async def create(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return (await self._sized([await super().create(_without_sizes(data))]))[0]

    async def update(self, id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        return (await self._sized([await super().update(id, _without_sizes(data))]))[0]

    async def delete(self, id: str) -> None:
        """Delete a stored cache and its entries."""
        self._writable(id)
        await self._stored(id)
        await self.store.lookups.purge(id)
        await super().delete(id)

    async def list(self, integrations: set[str] | None = None) -> list[dict[str, Any]]:
        """Every cache (of ``integrations`` when given), in id order."""
        found = await self.find(integrations=sorted(integrations) if integrations is not None else None)
        return sorted(found, key=lambda c: c["id"])

    async def _sized(self, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        sizes = await self.store.lookups.sizes([d["id"] for d in documents])
        out = []
        for d in documents:
            size = sizes.get(d["id"])
            out.append({**d, "description": d.get("description", ""), "entries": size.entries if size else 0,
                        "bytes": size.bytes if size else 0})  # fmt: skip
        return out

    async def get_data(
        self,
        cache: str,
        keys: list[str] | None = None,
        starts_with: str | None = None,
        page_size: int = MAX_PUT_ENTRIES,
        start_after_key: str | None = None,
    ) -> dict[str, Any]:
        """One page of entries in key order: ``{"data": [{key, value}], "next_page_url"}``.

        ``keys`` and ``starts_with`` filter; ``next_page_url`` is the REST URL of the next page
        (the same filters, ``start_after_key=`` the page's last key), None on the last page.
        """
        await self.require(cache)
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PUT_ENTRIES:
            raise InvalidInput(f"page_size must be 1 to {MAX_PUT_ENTRIES:,}, not {page_size!r}",
                               details={"field": "page_size"})  # fmt: skip
        for name, value in (("starts_with", starts_with), ("start_after_key", start_after_key)):
            if value is not None and not isinstance(value, str):
                raise InvalidInput(f"{name} must be a string", details={"field": name})
        keys = None if keys is None else check_keys(keys)
        rows = await self.store.lookups.page(
            cache, keys=keys, starts_with=starts_with, limit=page_size + 1, after=start_after_key
        )
        data = [{"key": key, "value": value} for key, value in rows[:page_size]]
        more = len(rows) > page_size
        return {
            "data": data,
            "next_page_url": next_page_url(cache, keys, starts_with, page_size, data) if more else None,
        }

    async def put_data(self, cache: str, entries: list[Any]) -> list[dict[str, Any]]:
        """Store ``[{key, value}]`` (strings; ≤ 1,000 entries and 5 MB a call); a result per entry."""
        await self.require(cache)
        return await self.store.lookups.put(cache, entries)

    async def delete_data(self, cache: str, keys: list[str]) -> list[dict[str, Any]]:
        """Delete ``keys`` (≤ 1,000 a call); ``[{key, deleted}]``."""
        await self.require(cache)
        return await self.store.lookups.delete(cache, keys)

    async def purge_data(self, cache: str) -> int:
        """Delete every entry of ``cache``; returns how many there were."""
        await self.require(cache)
        return await self.store.lookups.purge(cache)


def next_page_url(
    cache: str, keys: list[str] | None, starts_with: str | None, page_size: int, data: list[dict[str, str]]
) -> str:
    """``/lookup_caches/{cache}/data?...&start_after_key=<last key>``."""
    query: list[tuple[str, Any]] = [("keys", key) for key in keys or ()]
    if starts_with:
        query.append(("starts_with", starts_with))
    query += [("page_size", page_size), ("start_after_key", data[-1]["key"])]
    return f"/lookup_caches/{quote(cache, safe='')}/data?{urlencode(query)}"


def _without_sizes(data: Any) -> Any:
    """A document sent back as it came (with ``entries`` and ``bytes``) is taken as it is."""
    return {k: v for k, v in data.items() if k not in ("entries", "bytes")} if isinstance(data, Mapping) else data
