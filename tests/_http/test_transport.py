"""The transport seam: aiohttp behind it, and a client that only knows the Protocol."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from splice._clock import ManualClock
from splice._http import AiohttpTransport, Request, Response, Transport, TransportError
from splice._http.client import CallSpec, ConnectionApi
from splice._http.retry import RetryPolicy
from splice.auth import OAuth2ClientCredentials
from splice.errors import ConnectionError


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"q": request.query.get("q"), "auth": request.headers.get("Authorization")})

    async def fail(request: web.Request) -> web.Response:
        return web.Response(status=503, text="try later")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response()

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/fail", fail)
    app.router.add_get("/slow", slow)
    async with TestServer(app, host="127.0.0.1") as running:
        yield str(running.make_url("")).rstrip("/")


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    opened = AiohttpTransport.create()
    yield opened
    await opened.close()


async def test_send_returns_any_status_with_the_body_read(server: str, transport: AiohttpTransport) -> None:
    ok = await transport.send(Request("GET", f"{server}/ok", [("q", "1")]), timeout=5)
    assert (ok.status, ok.json()) == (200, {"q": "1", "auth": None})
    failed = await transport.send(Request("GET", f"{server}/fail"), timeout=5)
    assert (failed.status, failed.text) == (503, "try later")


async def test_stream_gives_chunks_for_a_2xx_and_the_body_otherwise(server: str, transport: AiohttpTransport) -> None:
    head, chunks = await transport.stream(Request("GET", f"{server}/ok"), timeout=5, chunk_size=4)
    assert head.status == 200 and head.content == b"" and chunks is not None
    assert b"".join([chunk async for chunk in chunks]) == b'{"q": null, "auth": null}'
    head, chunks = await transport.stream(Request("GET", f"{server}/fail"), timeout=5)
    assert (head.status, head.content, chunks) == (503, b"try later", None)


async def test_timeouts_stay_timeouts(server: str, transport: AiohttpTransport) -> None:
    with pytest.raises(TimeoutError):
        await transport.send(Request("GET", f"{server}/slow"), timeout=0.1)


async def test_no_response_is_a_transport_error(transport: AiohttpTransport) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransportError):
        await transport.send(Request("GET", f"http://127.0.0.1:{port}/"), timeout=5)
    with pytest.raises(TransportError):
        await transport.stream(Request("GET", f"http://127.0.0.1:{port}/"), timeout=5)


class Scripted:
    """A transport from a function: what the client sees is all the Protocol promises."""

    def __init__(self, answer: type[Exception] | int) -> None:
        self.answer = answer
        self.sent: list[Request] = []

    async def send(self, request: Request, *, timeout: float) -> Response:
        self.sent.append(request)
        if isinstance(self.answer, int):
            return Response(self.answer, request.headers.copy(), b"{}", request)
        raise self.answer("connection reset by peer")

    async def stream(self, request: Request, *, timeout: float, chunk_size: int = 65536) -> tuple[Response, None]:
        return await self.send(request, timeout=timeout), None

    async def close(self) -> None:
        pass


def client(transport: Transport, credentials: dict[str, object], clock: ManualClock) -> ConnectionApi:
    auth = OAuth2ClientCredentials(token_url="https://api.acme.test/oauth/token")

    async def refresher(stale: dict[str, object]) -> dict[str, object]:
        return {**stale, "access_token": "fresh", "expires_at": clock.time() + 3600}

    policy = RetryPolicy(initial_wait=0.01, max_wait=0.01)
    return ConnectionApi(
        transport=transport,
        base_url="https://api.acme.test",
        auth=auth,
        credentials=credentials,
        refresher=refresher,
        policy=policy,
        clock=clock,
    )


@pytest.mark.parametrize("failure", [TransportError, TimeoutError])
async def test_the_client_retries_then_maps_no_response_to_network_error(failure: type[Exception]) -> None:
    transport = Scripted(failure)
    api = client(transport, {"access_token": "t"}, ManualClock(1_000_000))
    with pytest.raises(ConnectionError) as info:
        await api.call(CallSpec("GET", "/contacts"))
    assert info.value.code == "NETWORK_ERROR" and len(transport.sent) == 3
    assert ("timed out" if failure is TimeoutError else "connection reset by peer") in info.value.message


async def test_the_client_judges_expiry_by_its_clock() -> None:
    clock = ManualClock(1_000_000)
    transport = Scripted(200)
    api = client(transport, {"access_token": "old", "expires_at": 1_000_000 + 3600}, clock)
    await api.call(CallSpec("GET", "/contacts"))
    clock.advance(3600 - 61)
    await api.call(CallSpec("GET", "/contacts"))
    clock.advance(2)  # inside the minute of leeway before expiry
    await api.call(CallSpec("GET", "/contacts"))
    assert [r.headers["Authorization"] for r in transport.sent] == ["Bearer old", "Bearer old", "Bearer fresh"]
