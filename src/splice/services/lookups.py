"""``rt.lookups``: lookup caches (Celigo's) — string keys and values by cache, read in pages.

A cache is declared in code (``acme.lookup_cache("skus")``) and named ``acme.skus``.
:meth:`Lookups.known` decides whether a cache exists; it checks the project's declared caches
today, and is where caches created through the API will be found too.

>>> await rt.lookups.put_data("acme.skus", [{"key": "A-1", "value": "4711"}])
[{'key': 'A-1', 'status': 'created'}]
>>> await rt.lookups.get_data("acme.skus", starts_with="A-")
{'data': [{'key': 'A-1', 'value': '4711'}], 'next_page_url': None}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from splice.errors import InvalidInput, NotFound
from splice.integration import LookupCache
from splice.project import Project
from splice.store import Store
from splice.store._lookups import MAX_PUT_ENTRIES, check_keys


class Lookups:
    """Lookup caches of one project: list them, and get, put, delete and purge their entries."""

    def __init__(self, project: Callable[[], Project], store: Store) -> None:
        self._project = project
        self.store = store

    def declared(self) -> dict[str, LookupCache]:
        """The caches the project's code declares, by id."""
        integrations = self._project().integrations.values()
        return {c.id: c for i in integrations for c in i.lookup_caches.values()}

    async def known(self, cache_id: str) -> bool:
        """Whether ``cache_id`` names a cache (the extension point for caches created through the API)."""
        return cache_id in self.declared()

    async def require(self, cache_id: str) -> None:
        """:class:`NotFound` naming ``cache_id`` and the known caches, unless it is one."""
        if not isinstance(cache_id, str) or not await self.known(cache_id):
            names = sorted(self.declared())
            raise NotFound(
                f"unknown lookup cache {cache_id!r} (this project has: {', '.join(names) or 'none'})",
                details={"cache": cache_id, "known": names},
                hint='declare it in code: acme.lookup_cache("skus") is the cache acme.skus',
            )

    async def list(self, integrations: set[str] | None = None) -> list[dict[str, Any]]:
        """Every cache (of ``integrations`` when given), with its entry count and bytes."""
        caches = [c for c in self.declared().values() if integrations is None or c.integration in integrations]
        sizes = await self.store.lookups.sizes([c.id for c in caches])
        return [_describe(c, sizes.get(c.id)) for c in sorted(caches, key=lambda c: c.id)]

    async def get(self, cache_id: str) -> dict[str, Any]:
        """One cache, with its entry count and bytes."""
        await self.require(cache_id)
        return _describe(self.declared()[cache_id], (await self.store.lookups.sizes([cache_id])).get(cache_id))

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


def _describe(cache: LookupCache, size: Any) -> dict[str, Any]:
    return {
        "id": cache.id,
        "integration": cache.integration,
        "name": cache.name,
        "description": cache.description,
        "entries": size.entries if size else 0,
        "bytes": size.bytes if size else 0,
    }
