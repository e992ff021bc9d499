"""``ctx.api`` / ``ctx.internal_api``: a script's HTTP, performed by the run's connection client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from splice._http.client import CallSpec, ConnectionApi
from splice._http.models import Response
from splice._runtime.capabilities._scope import Handler
from splice._runtime.capability import HTTP
from splice.errors import InvalidInput

#: most retries a script may ask for on one call
MAX_RETRIES = 10


class HttpHandler(Handler):
    spec = HTTP

    async def request(self, args: dict[str, Any], blob: bytes) -> tuple[dict[str, Any], bytes]:
        response = await self._client(args).call(_spec(args, blob))
        return _head(response), response.content

    async def stream(self, args: dict[str, Any], blob: bytes) -> tuple[dict[str, Any], AsyncIterator[bytes]]:
        """The response's head at once, its body as chunks (the gateway forwards them as frames)."""
        response, chunks = await self._client(args).call_stream(_spec(args, blob))
        return _head(response), chunks

    def _client(self, args: dict[str, Any]) -> ConnectionApi:
        scope = self.scope
        if args.get("target") == "internal":
            if scope.internal_api is None:
                raise InvalidInput(
                    "ctx.internal_api is not configured",
                    hint="add an [internal_api] section with base_url to splice.toml",
                )
            return scope.internal_api
        if scope.api is None:
            raise InvalidInput(f"{scope.script.qualname} runs without a connection, so ctx.api is unavailable")
        return scope.api


def _spec(args: dict[str, Any], blob: bytes) -> CallSpec:
    auth = args.get("auth")
    return CallSpec(
        method=str(args.get("method", "GET")),
        path=str(args.get("path", "")),
        query=[(str(k), str(v)) for k, v in args.get("query") or []],
        headers={str(k): str(v) for k, v in (args.get("headers") or {}).items()},
        content=blob if args.get("has_body") else None,
        base_uri=args.get("base_uri"),
        basic_auth=(str(auth[0]), str(auth[1])) if auth else None,
        timeout=number(args.get("timeout")),
        retries=_retries(args.get("retries")),
        raise_for_status=args.get("raise_for_status", True) is not False,
    )


def _head(response: Response) -> dict[str, Any]:
    """Status, headers and the URL with secrets masked (paginators resolve links against it)."""
    headers = [[str(k), v] for k, v in response.headers.items()]
    return {"status": response.status, "headers": headers, "url": response.url}


def _retries(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_RETRIES:
        raise InvalidInput(f"retries must be a whole number from 0 to {MAX_RETRIES}, not {value!r}")
    return value


def number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
