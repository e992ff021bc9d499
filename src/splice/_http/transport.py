"""The transport seam: the one place HTTP leaves the process.

Everything above a :class:`Transport` (URL resolution, the host allowlist, auth and refresh,
retries, redaction, logging) works on :class:`~splice._http.Request` and
:class:`~splice._http.Response` values, so swapping the transport swaps only the wire: a
runtime sends through :class:`AiohttpTransport` by default, and a test (or ``splice.testing``
record/replay) passes its own to ``Runtime.open(transport=...)``. Sandboxed children never hold
a transport: their calls reach the parent's gateway, so a parent-side transport covers them too.

A transport returns every response it gets, whatever its status (the client decides what a
401 or a 503 means), raises :class:`TimeoutError` when ``timeout`` passes, and raises
:class:`TransportError` when no response could be had (DNS, refused, reset). It never
follows redirects.

>>> transport = AiohttpTransport.create()
>>> response = await transport.send(Request("GET", "https://api.acme.test/ping"), timeout=10)
>>> await transport.close()
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

import aiohttp
from multidict import CIMultiDict

from splice._http.models import Request, Response

#: a streamed body: chunks of at most ``chunk_size`` bytes, released when exhausted or closed
Chunks = AsyncIterator[bytes]


class TransportError(Exception):
    """No response: the request could not be sent or its answer not read (not a timeout)."""


class Transport(Protocol):
    """Sends requests; what :class:`~splice._http.client.ConnectionApi` and token refresh use."""

    async def send(self, request: Request, *, timeout: float) -> Response:
        """The response to ``request`` with its whole body read."""
        ...

    async def stream(
        self, request: Request, *, timeout: float, chunk_size: int = 65536
    ) -> tuple[Response, Chunks | None]:
        """The response head, and for a 2xx its body as chunks (``content`` stays empty).

        Any other status comes back with its body read into ``content`` and no chunks.
        """
        ...

    async def close(self) -> None:
        """Release connections; the transport is not used afterwards."""
        ...


class AiohttpTransport:
    """The default transport: one pooled aiohttp session for every run of a runtime."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    @classmethod
    def create(cls) -> AiohttpTransport:
        connector = aiohttp.TCPConnector(limit=100, ttl_dns_cache=300)
        return cls(aiohttp.ClientSession(connector=connector, auto_decompress=True))

    async def close(self) -> None:
        await self.session.close()

    async def send(self, request: Request, *, timeout: float) -> Response:
        try:
            async with self._open(request, timeout) as raw:
                content = await raw.read()
                return Response(raw.status, CIMultiDict(raw.headers), content, request)
        except TimeoutError:
            raise
        except aiohttp.ClientError as exc:
            raise _transport_error(exc) from exc

    async def stream(
        self, request: Request, *, timeout: float, chunk_size: int = 65536
    ) -> tuple[Response, Chunks | None]:
        ctx = self._open(request, timeout)
        try:
            raw = await ctx.__aenter__()
            head = Response(raw.status, CIMultiDict(raw.headers), b"", request)
            if raw.status >= 300:
                try:
                    head.content = await raw.read()
                finally:
                    await ctx.__aexit__(None, None, None)
                return head, None
        except TimeoutError:
            raise
        except aiohttp.ClientError as exc:
            raise _transport_error(exc) from exc

        async def chunks() -> Chunks:
            try:
                async for chunk in raw.content.iter_chunked(chunk_size):
                    yield chunk
            finally:
                await ctx.__aexit__(None, None, None)

        return head, chunks()

    def _open(self, request: Request, timeout: float) -> Any:
        return self.session.request(
            request.method,
            request.url,
            params=request.params or None,
            headers=request.headers,
            data=request.content,
            timeout=aiohttp.ClientTimeout(total=timeout),
            allow_redirects=False,
        )


def _transport_error(exc: aiohttp.ClientError) -> TransportError:
    return TransportError(str(exc) or type(exc).__name__)
