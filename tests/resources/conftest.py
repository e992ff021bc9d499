"""A real HTTP server per test (aiohttp on 127.0.0.1) and the pipeline's Http seam over aiohttp."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from tests.conftest import ProjectFactory

from splice.demo.server import DemoAPI
from splice.resources import HttpAnswer
from splice.runtime import Runtime


class AioHttp:
    """What the lead's adapter does, minus auth and redaction: every status comes back as an answer."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base
        self.calls: list[tuple[str, str]] = []

    async def __call__(
        self, method: str, path: str, *, query: list[tuple[str, str]], headers: dict[str, str], body: bytes | None
    ) -> HttpAnswer:
        url = path if path.startswith(("http://", "https://")) else self.base + path
        self.calls.append((method, url))
        async with self.session.request(method, url, params=query or None, headers=headers, data=body) as response:
            content = await response.read()
            return HttpAnswer(response.status, response.headers, content, str(response.url))


class Served:
    def __init__(self, http: AioHttp, hits: Counter[str]) -> None:
        self.http, self.hits = http, hits

    @property
    def base(self) -> str:
        return self.http.base


Serve = Callable[[web.Application], Awaitable[Served]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """``served = await serve(app)``: the app on a free port, ``served.http`` pointed at it,
    ``served.hits`` counting requests by path."""
    runners: list[web.AppRunner] = []
    sessions: list[aiohttp.ClientSession] = []

    async def start(app: web.Application) -> Served:
        hits: Counter[str] = Counter()

        @web.middleware
        async def count(request: web.Request, handler):  # type: ignore[no-untyped-def]
            hits[request.path] += 1
            return await handler(request)

        app.middlewares.append(count)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        session = aiohttp.ClientSession()
        sessions.append(session)
        return Served(AioHttp(session, f"http://127.0.0.1:{port}"), hits)

    yield start
    for session in sessions:
        await session.close()
    for runner in runners:
        await runner.cleanup()


OpenOnDemo = Callable[[str], Awaitable[Runtime]]


@pytest.fixture
async def open_on_demo(demo_api: DemoAPI, make_project: ProjectFactory) -> AsyncIterator[OpenOnDemo]:
    """``rt = await open_on_demo(source)``: a project of one module whose ``{url}`` is the demo
    API's, opened, with the connection ``c1`` to the demo API's integration ``acme``."""
    opened: list[Runtime] = []

    async def open_(source: str) -> Runtime:
        rt = await Runtime.open(make_project({"acme.py": source.format(url=demo_api.url)}))
        opened.append(rt)
        await rt.connections.add("acme", "c1", {"api_key": "demo-key"})
        return rt

    yield open_
    for rt in opened:
        await rt.close()
