"""Acme's REST API under ``/api``: contacts, one paginated view per pagination strategy,
and a toolbox of routes (echo, flaky, slow, streaming, odd statuses) for splice's tests.

Every route is wrapped by :class:`~splice.demo._guard.Guard`, so each one also exercises
authentication and rate limiting. Handlers avoid per-request work beyond what the
response needs because benchmarks use this server as their load target.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import math
import time
from collections import Counter
from typing import Any

import orjson
from aiohttp import web

from splice.demo._contacts import ContactError, ContactStore, contact_number
from splice.demo._guard import Guard
from splice.demo._web import (
    abort,
    json_response,
    query_float,
    query_int,
    read_json,
)

__all__ = ["AcmeAPI"]

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_BYTES = 256 * 1024 * 1024
MAX_SLEEP = 300.0
MAX_JSON_KB = 100 * 1024

_PATTERN = bytes(range(256))
_LOREM = "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. " * 20
#: a few ~900-character bios so synthetic records are not all byte-identical
_BIOS = tuple(_LOREM[k : k + 900] for k in range(0, 81, 3))


def _deterministic_bytes(size: int) -> bytes:
    """``size`` bytes counting 0..255 over and over: easy to verify after a download."""
    return (_PATTERN * (size // 256 + 1))[:size]


def _big_record(index: int) -> dict[str, Any]:
    """Synthetic record number ``index`` (~1 KB serialised), built on demand, never stored."""
    n = index + 1
    return {
        "id": f"r{n:07d}",
        "index": index,
        "email": f"bulk{n}@example.com",
        "name": f"Bulk Record {n}",
        "updated_at": "2024-01-01T00:00:00Z",
        "bio": _BIOS[index % len(_BIOS)],
    }


@functools.lru_cache(maxsize=8)
def _big_json(kb: int) -> bytes:
    """A JSON object of about ``kb`` KiB (cached: benchmarks ask for the same size often)."""
    item_count = max(1, kb * 1024 // 100)
    items = [{"i": i, "pad": "x" * 80} for i in range(item_count)]
    return orjson.dumps({"kb": kb, "items": items})


def _encode_cursor(kind: str, position: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).rstrip(b"=").decode()


def _decode_cursor(request: web.Request, kind: str) -> int:
    """The position inside an opaque ``cursor`` query parameter (0 when absent)."""
    raw = request.query.get("cursor")
    if not raw:
        return 0
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        prefix, _, position = decoded.partition(":")
        if prefix != kind:
            raise ValueError(prefix)
        return int(position)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        abort(400, {"error": "invalid cursor", "field": "cursor"})


def _page_size(request: web.Request) -> int:
    return query_int(request, "limit", "per_page", default=DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)


class AcmeAPI:
    """The ``/api`` routes over a :class:`ContactStore`, guarded by ``guard``."""

    def __init__(self, *, store: ContactStore, big_count: int, guard: Guard, stats: Counter[str]) -> None:
        self.store = store
        self.big_count = big_count
        self.guard = guard
        self.stats = stats
        self._flaky: Counter[str] = Counter()
        self._effects: dict[str, dict[str, Any]] = {}

    def routes(self) -> list[web.RouteDef]:
        """Every ``/api`` route, each wrapped by the guard."""
        g = self.guard
        return [
            web.get("/api/whoami", g(self._whoami)),
            web.get("/api/contacts", g(self._cursor_page)),
            web.post("/api/contacts", g(self._create_contact)),
            web.get("/api/contacts/{id}", g(self._get_contact)),
            web.put("/api/contacts/{id}", g(self._replace_contact)),
            web.patch("/api/contacts/{id}", g(self._patch_contact)),
            web.delete("/api/contacts/{id}", g(self._delete_contact)),
            web.get("/api/paged/cursor", g(self._cursor_page)),
            web.get("/api/paged/link", g(self._link_page)),
            web.get("/api/paged/next-url", g(self._next_url_page)),
            web.get("/api/paged/offset", g(self._offset_page)),
            web.get("/api/paged/page", g(self._numbered_page)),
            web.get("/api/paged/big", g(self._big_page)),
            web.route("*", "/api/echo", g(self._echo)),
            web.route("*", "/api/flaky", g(self._flaky_route)),
            web.get("/api/bytes", g(self._bytes)),
            web.get("/api/text", g(self._text)),
            web.get("/api/stream", g(self._stream)),
            web.get("/api/slow", g(self._slow)),
            web.post("/api/effects", g(self._effect)),
            web.get("/api/status/{code}", g(self._status)),
            web.get("/api/big-json", g(self._big_json)),
        ]

    async def _whoami(self, request: web.Request) -> web.Response:
        # asked again rather than stashed on the request: cheap, and keeps the guard simple
        kind, principal = self.guard.authenticate(request) or ("", "")
        return json_response({"auth": kind, "principal": principal})

    # -- contacts ------------------------------------------------------------------------

    def _contact_or_404(self, request: web.Request) -> dict[str, Any]:
        cid = request.match_info["id"]
        contact = self.store.get(cid)
        if contact is None:
            abort(404, {"error": "contact not found", "id": cid})
        return contact

    async def _get_contact(self, request: web.Request) -> web.Response:
        return json_response(self._contact_or_404(request))

    async def _create_contact(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        try:
            contact = self.store.create(body)
        except ContactError as exc:
            return json_response(exc.body, status=exc.status)
        return json_response(contact, status=201)

    async def _replace_contact(self, request: web.Request) -> web.Response:
        return await self._update_contact(request, self.store.replace)

    async def _patch_contact(self, request: web.Request) -> web.Response:
        return await self._update_contact(request, self.store.patch)

    async def _update_contact(self, request: web.Request, update: Any) -> web.Response:
        self._contact_or_404(request)
        body = await read_json(request)
        try:
            contact = update(request.match_info["id"], body)
        except ContactError as exc:
            return json_response(exc.body, status=exc.status)
        return json_response(contact)

    async def _delete_contact(self, request: web.Request) -> web.Response:
        self._contact_or_404(request)
        self.store.delete(request.match_info["id"])
        return web.Response(status=204)

    # -- pagination strategies -----------------------------------------------------------

    def _after(self, request: web.Request) -> tuple[list[dict[str, Any]], str | None]:
        """One keyset page and the opaque cursor of the next one (``None`` on the last)."""
        items, more = self.store.page_after(_decode_cursor(request, "after"), _page_size(request))
        if not (more and items):
            return items, None
        return items, _encode_cursor("after", contact_number(items[-1]["id"]) or 0)

    async def _cursor_page(self, request: web.Request) -> web.Response:
        items, cursor = self._after(request)
        return json_response({"data": items, "meta": {"next": cursor}})

    async def _next_url_page(self, request: web.Request) -> web.Response:
        items, cursor = self._after(request)
        next_url = str(request.url.update_query(cursor=cursor)) if cursor else None
        return json_response({"results": items, "next": next_url})

    async def _link_page(self, request: web.Request) -> web.Response:
        page = query_int(request, "page", default=1, minimum=1)
        size = _page_size(request)
        ordered = self.store.ordered()
        start = (page - 1) * size
        last = max(1, math.ceil(len(ordered) / size))
        links = []
        if start + size < len(ordered):
            links.append(f'<{request.url.update_query(page=page + 1)}>; rel="next"')
        if page > 1:
            links.append(f'<{request.url.update_query(page=min(page - 1, last))}>; rel="prev"')
        links.append(f'<{request.url.update_query(page=last)}>; rel="last"')
        return json_response(ordered[start : start + size], headers={"Link": ", ".join(links)})

    async def _offset_page(self, request: web.Request) -> web.Response:
        offset = query_int(request, "offset", default=0, minimum=0)
        size = _page_size(request)
        ordered = self.store.ordered()
        return json_response({"items": ordered[offset : offset + size], "total": len(ordered)})

    async def _numbered_page(self, request: web.Request) -> web.Response:
        page = query_int(request, "page", default=1, minimum=1)
        size = _page_size(request)
        ordered = self.store.ordered()
        start = (page - 1) * size
        return json_response(
            {
                "data": ordered[start : start + size],
                "page": page,
                "total_pages": math.ceil(len(ordered) / size),
            }
        )

    async def _big_page(self, request: web.Request) -> web.Response:
        """``?delay_ms=`` slows each page down, so a test can stop a sync part-way."""
        delay = query_int(request, "delay_ms", default=0, minimum=0, maximum=10_000)
        if delay:
            await asyncio.sleep(delay / 1000)
        start = _decode_cursor(request, "big")
        end = min(start + _page_size(request), self.big_count)
        items = [_big_record(i) for i in range(start, end)]
        next_url = None
        if end < self.big_count:
            next_url = str(request.url.update_query(cursor=_encode_cursor("big", end)))
        return json_response({"results": items, "next": next_url})

    # -- toolbox -------------------------------------------------------------------------

    async def _echo(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            parsed = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            parsed = None
        query: dict[str, Any] = {}
        for name in request.query:
            if name not in query:
                values = request.query.getall(name)
                query[name] = values[0] if len(values) == 1 else values
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return json_response(
            {
                "method": request.method,
                "path": request.path,
                "query": query,
                "headers": headers,
                "json": parsed,
                "body": raw.decode("utf-8", "replace"),
            }
        )

    async def _flaky_route(self, request: web.Request) -> web.Response:
        """Fail the first ``fail`` calls per ``key``, then succeed: retry logic's target."""
        key = request.query.get("key", "default")
        fail = query_int(request, "fail", default=1, minimum=0)
        status = query_int(request, "status", default=429, minimum=400)
        if status > 599:
            abort(400, {"error": "status must be 400-599", "field": "status"})
        self._flaky[key] += 1
        self.stats[f"flaky.{key}"] += 1
        attempts = self._flaky[key]
        if attempts > fail:
            return json_response({"ok": True, "attempts": attempts})
        headers = {}
        if status == 429:
            retry_after = request.query.get("retry_after")
            if retry_after:
                headers["Retry-After"] = retry_after
            if request.query.get("reset"):
                reset = time.time() + query_float(request, "reset", default=0.0)
                headers["X-RateLimit-Reset"] = f"{reset:.3f}"
        body = {"error": f"status {status}", "attempts": attempts}
        return json_response(body, status=status, headers=headers)

    async def _bytes(self, request: web.Request) -> web.Response:
        size = query_int(request, "size", default=1024, minimum=0)
        if size > MAX_BYTES:
            abort(400, {"error": f"size must be <= {MAX_BYTES}", "field": "size"})
        return web.Response(body=_deterministic_bytes(size), content_type="application/octet-stream")

    async def _text(self, request: web.Request) -> web.Response:
        return web.Response(text="hello from acme", content_type="text/plain")

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        chunks = query_int(request, "chunks", default=4, minimum=0, maximum=100_000)
        size = query_int(request, "size", default=1024, minimum=1, maximum=MAX_BYTES)
        delay = min(query_float(request, "delay", default=0.0), MAX_SLEEP)
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = _deterministic_bytes(size)
        for i in range(chunks):
            if delay and i:
                await asyncio.sleep(delay)
            await response.write(chunk)
        await response.write_eof()
        return response

    async def _effect(self, request: web.Request) -> web.Response:
        """A side effect applied once per ``Idempotency-Key`` (a repeat gets the first answer),
        after ``?delay_ms=``; ``stats`` counts requests and applications per key."""
        delay = query_int(request, "delay_ms", default=0, minimum=0, maximum=10_000)
        key = request.headers.get("Idempotency-Key") or f"anonymous-{len(self._effects)}"
        self.stats[f"effects.requests.{key}"] += 1
        if delay:
            await asyncio.sleep(delay / 1000)
        if key not in self._effects:
            self.stats[f"effects.applied.{key}"] += 1
            self._effects[key] = {"key": key, "applied": len(self._effects) + 1}
        return json_response(self._effects[key])

    async def _slow(self, request: web.Request) -> web.Response:
        seconds = min(query_float(request, "seconds", default=1.0), MAX_SLEEP)
        await asyncio.sleep(seconds)
        return json_response({"ok": True, "slept": seconds})

    async def _status(self, request: web.Request) -> web.Response:
        try:
            code = int(request.match_info["code"])
        except ValueError:
            code = 0
        if not 200 <= code <= 599:
            abort(400, {"error": "status must be 200-599"})
        if code in (204, 304):
            return web.Response(status=code)
        return json_response({"error": f"status {code}"}, status=code)

    async def _big_json(self, request: web.Request) -> web.Response:
        kb = query_int(request, "kb", default=64, minimum=1, maximum=MAX_JSON_KB)
        return web.Response(body=_big_json(kb), content_type="application/json")
