"""Lookup caches' entries (Celigo's): string keys and values, by cache, read in keyset pages.

Keys and values are strings (a complex value is the caller's JSON string). A call writes at
most :data:`MAX_PUT_ENTRIES` entries and :data:`MAX_PUT_BYTES` bytes, else nothing is written;
a cache holds at most :attr:`LookupStore.max_cache_bytes` bytes of keys and values, and a put
that would pass it is refused whole. Within an accepted put, a bad entry (a key or value that
is not a string, a key over :data:`MAX_KEY_CHARS` characters, a NUL) fails alone.

Keys compare by code point on both dialects (see ``lookup_entries`` in ``_schema``), so a page
ends at a key and the next one starts strictly after it: each key comes back once, in order.

>>> await store.lookups.put("acme.skus", [{"key": "A-1", "value": "42"}])
[{'key': 'A-1', 'status': 'created'}]
>>> await store.lookups.page("acme.skus", starts_with="A-", limit=1000)
[('A-1', '42')]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from splice.errors import InvalidInput
from splice.store._engine import Database
from splice.store._schema import check_text, lookup_entries, utcnow

_T = lookup_entries.c
#: most entries one put may write, and most keys one read returns
MAX_PUT_ENTRIES = 1000
#: most bytes (keys and values, UTF-8) one put may write
MAX_PUT_BYTES = 5 * 1024 * 1024
#: longest key, in characters
MAX_KEY_CHARS = 512
#: the default :attr:`LookupStore.max_cache_bytes` (``[runtime] max_lookup_cache_mb``)
MAX_CACHE_BYTES = 50 * 1024 * 1024
_LAST_CHAR = 0x10FFFF


@dataclass(frozen=True, slots=True)
class CacheSize:
    """How many entries a cache holds, and their keys' and values' bytes."""

    entries: int
    bytes: int


def _utf8(text: str) -> int | None:
    """The UTF-8 length, or None for text that cannot be stored (lone surrogates)."""
    try:
        return len(text.encode())
    except UnicodeEncodeError:
        return None


def entry_error(entry: Any) -> str | None:
    """Why ``entry`` (``{"key", "value"}``) cannot be stored, or None."""
    if not isinstance(entry, dict):
        return f"an entry must be an object {{key, value}}, not {type(entry).__name__}"
    key, value = entry.get("key"), entry.get("value")
    if not isinstance(key, str) or not key:
        return f"key must be a non-empty string, not {type(key).__name__}"
    if not isinstance(value, str):
        return f"value must be a string (send JSON as a string), not {type(value).__name__}"
    if len(key) > MAX_KEY_CHARS:
        return f"key is {len(key):,} characters; the limit is {MAX_KEY_CHARS}"
    if "\x00" in key or "\x00" in value:
        return "keys and values must not contain NUL characters"
    if _utf8(key) is None or _utf8(value) is None:
        return "keys and values must be valid Unicode (no lone surrogates)"
    return None


def _size(entry: dict[str, str]) -> int:
    return len(entry["key"].encode()) + len(entry["value"].encode())


def check_put(entries: Any) -> None:
    """Refuse a whole put that is not a list, or passes :data:`MAX_PUT_ENTRIES` or :data:`MAX_PUT_BYTES`."""
    if not isinstance(entries, list):
        raise InvalidInput(f"entries must be a list of {{key, value}}, not {type(entries).__name__}")
    if len(entries) > MAX_PUT_ENTRIES:
        raise InvalidInput(
            f"a put takes at most {MAX_PUT_ENTRIES:,} entries; this one has {len(entries):,}",
            code="LOOKUP_PUT_TOO_LARGE",
            details={"entries": len(entries), "limit_entries": MAX_PUT_ENTRIES},
            hint=f"send the entries in batches of {MAX_PUT_ENTRIES:,} (the CLI's put --file does)",
            hints={"rest": f"send the entries in POST bodies of at most {MAX_PUT_ENTRIES:,}"},
        )
    total = sum(_size(e) for e in entries if entry_error(e) is None)
    if total > MAX_PUT_BYTES:
        raise InvalidInput(
            f"a put takes at most {MAX_PUT_BYTES:,} bytes of keys and values; this one has {total:,}",
            code="LOOKUP_PUT_TOO_LARGE",
            details={"bytes": total, "limit_bytes": MAX_PUT_BYTES},
            hint="send the entries in smaller batches",
        )


def check_keys(keys: Any, what: str = "keys") -> list[str]:
    """A list of at most :data:`MAX_PUT_ENTRIES` string keys, or :class:`InvalidInput`."""
    if not isinstance(keys, list | tuple) or not all(isinstance(k, str) for k in keys):
        raise InvalidInput(f"{what} must be a list of strings")
    if len(keys) > MAX_PUT_ENTRIES:
        raise InvalidInput(
            f"{what} holds {len(keys):,} keys; the limit is {MAX_PUT_ENTRIES:,} a call",
            code="LOOKUP_PUT_TOO_LARGE",
            details={"keys": len(keys), "limit_entries": MAX_PUT_ENTRIES},
        )
    for key in keys:
        check_text(key, "key")
    return list(keys)


def _prefix_bounds(prefix: str) -> sa.ColumnElement[bool]:
    """Keys starting with ``prefix``, as a range the primary key's index serves."""
    found = sa.and_(_T.key >= prefix, sa.func.substr(_T.key, 1, len(prefix)) == prefix)
    last = ord(prefix[-1])
    if last < _LAST_CHAR and not 0xD7FF <= last <= 0xDFFF:
        found = sa.and_(found, _T.key < prefix[:-1] + chr(last + 1))
    return found


class LookupStore:
    """``store.lookups``: entries of lookup caches by (cache id, key).

    ``max_cache_bytes`` bounds one cache; the runtime sets it from ``[runtime] max_lookup_cache_mb``.
    """

    def __init__(self, db: Database, max_cache_bytes: int = MAX_CACHE_BYTES) -> None:
        self._db = db
        self.max_cache_bytes = max_cache_bytes

    async def page(
        self,
        cache_id: str,
        *,
        keys: list[str] | None = None,
        starts_with: str | None = None,
        limit: int = MAX_PUT_ENTRIES,
        after: str | None = None,
    ) -> list[tuple[str, str]]:
        """Up to ``limit`` (key, value) pairs in key order, after the key ``after`` when given."""
        check_text(starts_with, "starts_with")
        check_text(after, "start_after_key")
        query = sa.select(_T.key, _T.value).where(_T.cache_id == cache_id).order_by(_T.key).limit(limit)
        if keys is not None:
            query = query.where(_T.key.in_(check_keys(keys)))
        if starts_with:
            query = query.where(_prefix_bounds(starts_with))
        if after is not None:
            query = query.where(_T.key > after)
        async with self._db.read() as conn:
            return [(row.key, row.value) for row in await conn.execute(query)]

    async def put(self, cache_id: str, entries: list[Any]) -> list[dict[str, Any]]:
        """Store ``entries`` (``[{key, value}]``); per key ``{key, status: created|updated}`` or
        ``{key, error: {code, message}}``. Too many or too large: refused whole, nothing written."""
        check_put(entries)
        results, good = _sorted_out(entries)
        if not good:
            return results
        async with self._db.write() as conn:
            await self._lock(conn, cache_id)
            old = await self._sizes(conn, cache_id, list(good))
            total = await self._total(conn, cache_id)
            grown = total - sum(old.values()) + sum(_size(e) for e in good.values())
            if grown > self.max_cache_bytes:
                raise _full(cache_id, total, grown, self.max_cache_bytes)
            now = utcnow()
            rows = [{"cache_id": cache_id, **e, "size": _size(e), "updated_at": now} for e in good.values()]
            stmt = self._db.insert(lookup_entries).values(rows)
            stmt = stmt.on_conflict_do_update(
                index_elements=[_T.cache_id, _T.key],
                set_={"value": stmt.excluded.value, "size": stmt.excluded.size, "updated_at": stmt.excluded.updated_at},
            )
            await conn.execute(stmt)
        for result in results:
            if "error" not in result:
                result["status"] = "updated" if result["key"] in old else "created"
        return results

    async def delete(self, cache_id: str, keys: list[str]) -> list[dict[str, Any]]:
        """Delete ``keys``; per key ``{key, deleted: bool}`` (False: it was not there)."""
        keys = check_keys(keys)
        stmt = lookup_entries.delete().where(_T.cache_id == cache_id, _T.key.in_(keys)).returning(_T.key)
        async with self._db.write() as conn:
            gone = set((await conn.execute(stmt)).scalars())
        return [{"key": key, "deleted": key in gone} for key in keys]

    async def purge(self, cache_id: str) -> int:
        """Delete every entry of the cache; returns how many there were."""
        async with self._db.write() as conn:
            return (await conn.execute(lookup_entries.delete().where(_T.cache_id == cache_id))).rowcount

    async def sizes(self, cache_ids: list[str] | None = None) -> dict[str, CacheSize]:
        """Entry counts and bytes by cache (caches without entries are left out)."""
        query = sa.select(_T.cache_id, sa.func.count(), sa.func.sum(_T.size)).group_by(_T.cache_id)
        if cache_ids is not None:
            query = query.where(_T.cache_id.in_(cache_ids))
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return {row[0]: CacheSize(int(row[1]), int(row[2] or 0)) for row in rows}

    async def _lock(self, conn: Any, cache_id: str) -> None:
        """PostgreSQL: one put per cache at a time, so two cannot both pass the cap (SQLite has one writer)."""
        if self._db.dialect == "postgresql":
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext("lookup:" + cache_id))))

    async def _sizes(self, conn: Any, cache_id: str, keys: list[str]) -> dict[str, int]:
        query = sa.select(_T.key, _T.size).where(_T.cache_id == cache_id, _T.key.in_(keys))
        return {row.key: row.size for row in await conn.execute(query)}

    async def _total(self, conn: Any, cache_id: str) -> int:
        query = sa.select(sa.func.coalesce(sa.func.sum(_T.size), 0)).where(_T.cache_id == cache_id)
        return int((await conn.execute(query)).scalar_one())


def _sorted_out(entries: list[Any]) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    """Per-entry results (errors filled in) and the good entries by key; a key given twice fails the later one."""
    results: list[dict[str, Any]] = []
    good: dict[str, dict[str, str]] = {}
    for entry in entries:
        error = entry_error(entry)
        key = entry.get("key") if isinstance(entry, dict) else None
        if error is None and key in good:
            error = "this key appears earlier in the same put"
        shown = key[:MAX_KEY_CHARS] if isinstance(key, str) else key
        if error is not None:
            results.append({"key": shown if _json_safe(shown) else None, "error": _entry_error(error)})
            continue
        good[key] = {"key": key, "value": entry["value"]}
        results.append({"key": key})
    return results, good


def _json_safe(key: Any) -> bool:
    return key is None or (isinstance(key, str | int | float | bool) and _utf8(str(key)) is not None)


def _entry_error(message: str) -> dict[str, str]:
    error = InvalidInput(message)
    return {"code": error.code, "message": error.message}


def _full(cache_id: str, total: int, grown: int, limit: int) -> InvalidInput:
    return InvalidInput(
        f"lookup cache {cache_id!r} would hold {grown:,} bytes after this put; the limit is {limit:,} "
        f"(it holds {total:,})",
        code="LOOKUP_CACHE_FULL",
        details={"cache": cache_id, "bytes": total, "bytes_after": grown, "limit_bytes": limit},
        hint="delete or purge entries you no longer need, or raise [runtime] max_lookup_cache_mb in splice.toml",
    )
