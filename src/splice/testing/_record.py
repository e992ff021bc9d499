"""Recording: a transport that wraps the real one and keeps every exchange for a fixture.

It sits where every HTTP call of a runtime passes (the parent's transport seam, behind the
gateway), so it records runs in sandboxed children and in-process runs alike, token requests
included. Exchanges are held in memory as sent (secrets and all) and only turned into fixture
exchanges by :meth:`RecordingTransport.exchanges`, which first learns the secrets the wire
shows (auth headers, secret query values, token fields) and then replaces every known one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

from splice._http.models import Request, Response
from splice._http.redact import secret_name
from splice._http.transport import AiohttpTransport, Chunks, Transport
from splice.testing._format import (
    RecordedExchange,
    RecordedRequest,
    RecordedResponse,
    encode_body,
    encode_headers,
)
from splice.testing._secrets import Placeholders, secret_header


class RecordingTransport:
    """Implements :class:`~splice._http.transport.Transport`: sends through ``inner``, keeps each exchange.

    ``inner`` defaults to an :class:`AiohttpTransport` made on first use (inside the event loop,
    so a CLI can build the recorder before its loop runs).

    >>> recorder = RecordingTransport()
    >>> rt = await Runtime.open(root, transport=recorder)
    """

    def __init__(self, inner: Transport | None = None) -> None:
        self._inner = inner
        self.raw: list[tuple[Request, Response]] = []

    @property
    def inner(self) -> Transport:
        if self._inner is None:
            self._inner = AiohttpTransport.create()
        return self._inner

    async def send(self, request: Request, *, timeout: float) -> Response:
        response = await self.inner.send(request, timeout=timeout)
        self.raw.append((request, response))
        return response

    async def stream(
        self, request: Request, *, timeout: float, chunk_size: int = 65536
    ) -> tuple[Response, Chunks | None]:
        response, chunks = await self.inner.stream(request, timeout=timeout, chunk_size=chunk_size)
        if chunks is None:
            self.raw.append((request, response))
            return response, None
        kept = Response(response.status, response.headers, b"", request)
        self.raw.append((request, kept))

        async def tee() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                kept.content += chunk
                yield chunk

        return response, tee()

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()

    def clear(self) -> None:
        self.raw.clear()

    def learn(self, secrets: Placeholders) -> None:
        """Add the secrets the recorded wire shows: auth headers, secret-named query values, token fields."""
        for request, response in self.raw:
            for name, value in request.headers.items():
                if secret_header(name):
                    secrets.add_header(name, value)
            for name, value in request.params:
                if secret_name(name):
                    secrets.add(f"query.{name}", value)
            for body in (encode_body(request.content, request.headers.get("Content-Type", "")),
                         encode_body(response.content, response.headers.get("Content-Type", ""))):  # fmt: skip
                if body is not None and "json" in body:
                    secrets.add_tokens(body["json"])
            if request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                _learn_form(request.content or b"", secrets)

    def exchanges(self, secrets: Placeholders) -> list[RecordedExchange]:
        """The recorded exchanges as a fixture holds them, every known secret replaced."""
        self.learn(secrets)
        return [_recorded(request, response, secrets) for request, response in self.raw]


def _learn_form(content: bytes, secrets: Placeholders) -> None:
    for name, value in parse_qsl(content.decode("utf-8", errors="replace")):
        if secret_name(name) and name not in ("grant_type", "response_type", "token_type"):
            secrets.add(f"form.{name}", value)


def _recorded(request: Request, response: Response, secrets: Placeholders) -> RecordedExchange:
    req = RecordedRequest(
        method=request.method,
        url=secrets.text(request.url),
        query=[(k, secrets.text(v)) for k, v in request.params],
        headers=secrets.value(encode_headers(request.headers)),
        body=secrets.value(encode_body(request.content, request.headers.get("Content-Type", ""))),
    )
    resp = RecordedResponse(
        status=response.status,
        headers=secrets.value(encode_headers(response.headers)),
        body=secrets.value(encode_body(response.content, response.headers.get("Content-Type", ""))),
    )
    return RecordedExchange(req, resp)
