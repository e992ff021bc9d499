"""Request and response helpers shared by the demo server's handlers.

The demo server is also the load target of splice's benchmarks, so bodies go through
orjson and helpers avoid anything per-request that a real API would not do.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, NoReturn

import orjson
from aiohttp import web

JSON = "application/json"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Serialise ``data`` with orjson into an ``application/json`` response."""
    return web.Response(body=orjson.dumps(data), status=status, headers=headers, content_type=JSON)


def abort(status: int, data: dict[str, Any], headers: dict[str, str] | None = None) -> NoReturn:
    """Stop a handler with a JSON error body; aiohttp turns the raised exception into the reply."""
    exc = web.HTTPError(text=orjson.dumps(data).decode(), headers=headers, content_type=JSON)
    exc.set_status(status)
    raise exc


async def read_json(request: web.Request) -> Any:
    """Parse the request body as JSON, or abort with 400 ``invalid json``."""
    raw = await request.read()
    try:
        return orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        abort(400, {"error": "invalid json"})


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """Parse the body as a JSON object, or abort with 400."""
    body = await read_json(request)
    if not isinstance(body, dict):
        abort(400, {"error": "body must be a JSON object"})
    return body


def query_int(request: web.Request, *names: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    """Read the first of ``names`` present in the query string as an int.

    Out-of-range values below ``minimum`` (or non-integers) are a 400; values above
    ``maximum`` are clamped, the way real APIs cap page sizes rather than refusing them.
    """
    for name in names:
        raw = request.query.get(name)
        if raw is None or raw == "":
            continue
        try:
            value = int(raw)
        except ValueError:
            abort(400, {"error": f"{name} must be an integer", "field": name})
        if value < minimum:
            abort(400, {"error": f"{name} must be >= {minimum}", "field": name})
        return value if maximum is None else min(value, maximum)
    return default


def query_float(request: web.Request, name: str, *, default: float) -> float:
    """Read ``name`` from the query string as a non-negative float, or abort with 400."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        abort(400, {"error": f"{name} must be a number", "field": name})
    if not value >= 0:  # also rejects NaN
        abort(400, {"error": f"{name} must be >= 0", "field": name})
    return value


def decode_basic(encoded: str) -> tuple[str, str] | None:
    """``(user, password)`` from the base64 part of a Basic header, or ``None``."""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
