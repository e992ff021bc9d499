"""A tiny in-memory replay transport: recorded exchanges in, no network at all.

A test helper for splice's own tests, not the user-facing harness (``splice.testing``): it
takes exchanges written in the test rather than a fixture file, and insists on their exact
order (a token request before the call it authorises, say), where ``splice.testing`` matches
by method, URL and query. It answers each request with the next :class:`Exchange` and fails
loudly on a request it does not expect, naming what it got and what it expected::

    transport = ReplayTransport([
        Exchange("POST", "https://api.acme.test/oauth/token", json={"access_token": "t1"}),
        Exchange("GET", "https://api.acme.test/api/whoami", json={"id": "u1"}),
    ])
    rt = await Runtime.open(root, transport=transport, clock=ManualClock(T0))
    ...
    transport.assert_done()
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from multidict import CIMultiDict

from splice._http import Request, Response


@dataclass(frozen=True, slots=True)
class Exchange:
    """One recorded request (method, URL without query, optionally the query) and its answer."""

    method: str
    url: str
    query: Mapping[str, str] | None = None  # None: any query matches
    status: int = 200
    json: Any = None
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def matches(self, request: Request) -> bool:
        if (request.method, request.url) != (self.method, self.url):
            return False
        return self.query is None or dict(request.params) == dict(self.query)

    def response(self, request: Request) -> Response:
        headers: CIMultiDict[str] = CIMultiDict(self.headers)
        content = self.content
        if self.json is not None:
            content = orjson.dumps(self.json)
            headers.setdefault("Content-Type", "application/json")
        return Response(self.status, headers, content, request)


class UnexpectedRequest(AssertionError):
    """The code under test sent a request the recording does not have (next)."""


class ReplayTransport:
    """Implements :class:`splice._http.Transport` from a list of exchanges, answered in order."""

    def __init__(self, exchanges: Iterable[Exchange]) -> None:
        self.pending: deque[Exchange] = deque(exchanges)
        #: every request answered, as sent (credentials applied), for assertions
        self.sent: list[Request] = []
        self.unexpected: list[str] = []
        self.closed = False

    async def send(self, request: Request, *, timeout: float) -> Response:
        return self._answer(request)

    async def stream(
        self, request: Request, *, timeout: float, chunk_size: int = 65536
    ) -> tuple[Response, AsyncIterator[bytes] | None]:
        response = self._answer(request)
        if response.status >= 300:
            return response, None
        body, response.content = response.content, b""

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(body), chunk_size):
                yield body[start : start + chunk_size]

        return response, chunks()

    async def close(self) -> None:
        self.closed = True

    def assert_done(self) -> None:
        """Every exchange was used and nothing unexpected was asked for."""
        assert not self.unexpected, self.unexpected
        assert not self.pending, f"{len(self.pending)} recorded exchanges never requested: {list(self.pending)}"

    def _answer(self, request: Request) -> Response:
        if self.closed:
            raise self._refuse(request, "the transport is closed")
        if not self.pending:
            raise self._refuse(request, "the recording has no more exchanges")
        expected = self.pending[0]
        if not expected.matches(request):
            raise self._refuse(request, f"expected {expected.method} {expected.url} query={expected.query}")
        self.pending.popleft()
        self.sent.append(request)
        return expected.response(request)

    def _refuse(self, request: Request, why: str) -> UnexpectedRequest:
        message = f"unexpected request {request.method} {request.url} query={dict(request.params)}: {why}"
        self.unexpected.append(message)
        return UnexpectedRequest(message)
