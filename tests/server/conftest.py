"""A real splice server on 127.0.0.1 for each test: uvicorn in the test's event loop over a Runtime.

``server.client`` is an aiohttp session with a full-access token; ``server.as_token(secret)``
gives one with another token (or none). ``start_server(source, toml)`` serves another project
(or other settings); ``start_server_on`` does so on SQLite and again on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from fastapi import FastAPI
from tests._databases import make_database_url
from tests.conftest import SPLICE_TOML, ProjectFactory

from splice.demo.server import DemoAPI
from splice.runtime import Runtime
from splice.server import ApiServer, create_app
from splice.store import TokenScope

PROJECT = """
from pydantic import BaseModel
from splice import ActionError, Integration, auth, paginate


acme = Integration(
    "acme", base_url="{config.api_url}/api", auth=auth.ApiKey(), test_path="/whoami",
    paginate=paginate.Cursor(cursor_path="meta.next", cursor_param="cursor", limit_param="limit", limit=50),
)
other = Integration("other", base_url="{config.api_url}/api", auth=auth.ApiKey())


class Contact(BaseModel):
    id: str
    email: str


class Echo(BaseModel):
    text: str


@acme.action(input=Echo, output=Echo)
async def echo(ctx, input: Echo) -> Echo:
    ctx.log.info("echoing", text=input.text)
    return input


@acme.action
async def refuse(ctx, input):
    raise ActionError({"reason": "no"}, status=409)


@acme.action
async def crash(ctx, input):
    raise RuntimeError("boom")


@acme.action(time_limit=0.5)
async def sleepy(ctx, input):
    import asyncio
    await asyncio.sleep(float((input or {}).get("seconds", 5)))
    return {"slept": True}


@acme.sync(models=[Contact], every="1h")
async def contacts(ctx):
    async for page in ctx.api.paginate("/contacts"):
        await ctx.records.save([{"id": c["id"], "email": c["email"]} for c in page])


@other.action
async def ping(ctx, input):
    return "pong"
"""


@dataclass
class Server:
    runtime: Runtime
    url: str
    secret: str
    api_url: str
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)

    def as_token(self, secret: str | None) -> aiohttp.ClientSession:
        headers = {"Authorization": f"Bearer {secret}"} if secret is not None else {}
        session = aiohttp.ClientSession(base_url=self.url, headers=headers)
        self.sessions.append(session)
        return session

    @property
    def client(self) -> aiohttp.ClientSession:
        return self.sessions[0]

    async def token(self, name: str = "t", **scope: Any) -> str:
        _, secret = await self.runtime.store.tokens.create(name, TokenScope(**scope))
        return secret


S = TypeVar("S", bound=Server)


@contextlib.asynccontextmanager
async def serving(runtime: Runtime, app: FastAPI, handle: Callable[[str, str], S]) -> AsyncIterator[S]:
    """Serve ``app`` on a free port; yield ``handle(url, full_token)`` with a session holding the
    token. Closes the sessions, the server and ``runtime`` at the end."""
    api = ApiServer(app, port=0)
    task = asyncio.create_task(api.run_forever())
    while not api.started:
        assert not task.done(), task
        await asyncio.sleep(0.01)
    _, secret = await runtime.store.tokens.create("full")
    served = handle(api.url, secret)
    served.as_token(secret)
    try:
        yield served
    finally:
        for session in served.sessions:
            await session.close()
        api.stop()
        await task
        await runtime.close()


@pytest.fixture
async def server(make_project: ProjectFactory, demo_api: DemoAPI) -> AsyncIterator[Server]:
    runtime = await Runtime.open(make_project({"acme.py": PROJECT}), isolation="none")
    async with serving(
        runtime, create_app(runtime), lambda url, secret: Server(runtime, url, secret, demo_api.url)
    ) as s:
        yield s


StartServer = Callable[..., Awaitable[Server]]
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextlib.asynccontextmanager
async def servers(
    kind: str, make_project: ProjectFactory, demo_api: DemoAPI, tmp_path: Path
) -> AsyncIterator[StartServer]:
    """``start(source=PROJECT, toml=SPLICE_TOML)`` serves that project on a new database of ``kind``;
    everything started is stopped, and the database dropped, at the end."""
    url, cleanup = await make_database_url(kind, tmp_path)
    try:
        async with contextlib.AsyncExitStack() as stack:

            async def start(source: str = PROJECT, toml: str = SPLICE_TOML) -> Server:
                root = make_project({"acme.py": source}, toml=toml)
                runtime = await Runtime.open(root, isolation="none", database_url=url)

                def handle(served_at: str, secret: str) -> Server:
                    return Server(runtime, served_at, secret, demo_api.url)

                return await stack.enter_async_context(serving(runtime, create_app(runtime), handle))

            yield start
    finally:
        await cleanup()


@pytest.fixture
async def start_server(make_project: ProjectFactory, demo_api: DemoAPI, tmp_path: Path) -> AsyncIterator[StartServer]:
    async with servers("sqlite", make_project, demo_api, tmp_path) as start:
        yield start


@pytest.fixture(params=DATABASES)
async def start_server_on(
    request: pytest.FixtureRequest, make_project: ProjectFactory, demo_api: DemoAPI, tmp_path: Path
) -> AsyncIterator[StartServer]:
    async with servers(str(request.param), make_project, demo_api, tmp_path) as start:
        yield start


async def add_connection(server: Server, connection_id: str = "c1", integration: str = "acme") -> None:
    await server.runtime.connections.add(
        integration, connection_id, {"api_key": "demo-key"}, config={"api_url": server.api_url}
    )


def assert_error_body(body: Any, code: str) -> dict[str, Any]:
    """The envelope every error has; returns its ``error`` object."""
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == code, body
    assert error["message"] and isinstance(error["details"], dict) and error["request_id"], body
    assert "Traceback" not in str(body)
    return error
