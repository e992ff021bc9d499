"""``/lookup_caches/{id}/data``: a lookup cache's entries — string keys and values, read in pages::

    GET    /lookup_caches/{id}/data                ?keys=&starts_with=&page_size=&start_after_key=
                                                   → {"data": [{key, value}], "next_page_url"}
    POST   /lookup_caches/{id}/data                {"entries": [{key, value}]} → {"results": [...]}
    DELETE /lookup_caches/{id}/data                {"keys": [...]} or ?keys= → {"results": [{key, deleted}]}
    POST   /lookup_caches/{id}/purge               → {"purged": <count>}

The caches themselves (list, get, create, replace, patch, delete) are served by the route
factory (:func:`~splice.server.routes.resources.crud_router`), with :func:`unshared` as guard.
A put takes at most 1,000 entries and 5 MB (422 ``LOOKUP_PUT_TOO_LARGE``, nothing written), and
a cache at most ``[runtime] max_lookup_cache_mb`` (422 ``LOOKUP_CACHE_FULL``); a bad entry fails
alone, in its result. A cache is shared by all of its integration's connections, so it needs a
token without connection limits (403); a token limited to other integrations gets 404, and a
read-only one 403 on writes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from splice.errors import Forbidden, InvalidInput, NotFound
from splice.server._auth import CallerDep, RuntimeDep
from splice.server._bodies import JsonBody
from splice.server._errors import ERROR_RESPONSES

router = APIRouter(prefix="/lookup_caches", tags=["lookup caches"], responses=ERROR_RESPONSES)
CacheId = Annotated[str, Path(min_length=3, max_length=255, description="integration.name, e.g. acme.skus")]
KeysQuery = Annotated[list[str] | None, Query(max_length=1000, description="only these keys (repeat the parameter)")]


class LookupCacheOut(BaseModel):
    id: str
    integration: str
    name: str
    description: str
    entries: int
    bytes: int = Field(description="UTF-8 bytes of its keys and values")


class LookupEntry(BaseModel):
    key: str
    value: str


class LookupPage(BaseModel):
    data: list[LookupEntry]
    next_page_url: str | None = Field(description="the next page (start_after_key=); null on the last page")


class LookupPut(JsonBody):
    entries: list[Any] = Field(description="[{key, value}], strings; at most 1,000 entries and 5 MB")


class LookupKeys(JsonBody):
    keys: list[str] = Field(max_length=1000)


class LookupResults(BaseModel):
    results: list[dict[str, Any]] = Field(
        description="per entry: {key, status: created|updated} / {key, deleted} or {key, error: {code, message}}"
    )


class Purged(BaseModel):
    purged: int


def _writes(request: Request) -> bool:
    return request.method not in ("GET", "HEAD")


def _not_found(cache_id: str) -> NotFound:
    return NotFound(f"lookup cache {cache_id!r} not found", details={"cache": cache_id},
                    hint="GET /lookup_caches lists the caches this token can see")  # fmt: skip


def unshared(caller: CallerDep) -> None:
    if caller.token.scope.connections is not None:
        raise Forbidden("lookup caches are shared by every connection, so they need a token without connection limits")


async def _cache(cache_id: CacheId, request: Request, rt: RuntimeDep, caller: CallerDep) -> str:
    """The cache, when the token sees its integration (404 like a missing one otherwise) and may write."""
    owner = cache_id.partition(".")[0]
    if not caller.sees(owner):
        raise _not_found(cache_id)
    unshared(caller)
    caller.check(owner, write=_writes(request))
    if not await rt.lookups.known(cache_id):
        raise _not_found(cache_id)
    return cache_id


Cache = Annotated[str, Depends(_cache)]


@router.get("/{cache_id}/data", summary="Get a page of a lookup cache's entries")
async def get_lookup_data(
    cache: Cache,
    rt: RuntimeDep,
    keys: KeysQuery = None,
    starts_with: Annotated[str | None, Query(max_length=512, description="only keys starting with it")] = None,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 1000,
    start_after_key: Annotated[str | None, Query(max_length=512, description="the previous page's last key")] = None,
) -> LookupPage:
    page = await rt.lookups.get_data(
        cache, keys=keys, starts_with=starts_with, page_size=page_size, start_after_key=start_after_key
    )
    return LookupPage(**page)


@router.post("/{cache_id}/data", summary="Put entries into a lookup cache")
async def put_lookup_data(cache: Cache, body: LookupPut, rt: RuntimeDep) -> LookupResults:
    return LookupResults(results=await rt.lookups.put_data(cache, body.entries))


@router.delete("/{cache_id}/data", summary="Delete entries of a lookup cache")
async def delete_lookup_data(
    cache: Cache, rt: RuntimeDep, keys: KeysQuery = None, body: LookupKeys | None = None
) -> LookupResults:
    wanted = (keys or []) + (body.keys if body is not None else [])
    if not wanted:
        raise InvalidInput(
            'say which keys to delete: ?keys=K (repeated) or a body {"keys": [...]}',
            details={"field": "keys"},
            hint="to empty the cache, POST /lookup_caches/{id}/purge",
        )
    return LookupResults(results=await rt.lookups.delete_data(cache, wanted))


@router.post("/{cache_id}/purge", summary="Delete every entry of a lookup cache")
async def purge_lookup_cache(cache: Cache, rt: RuntimeDep) -> Purged:
    return Purged(purged=await rt.lookups.purge_data(cache))
