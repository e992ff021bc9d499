"""Fixtures of the escape suite: the host's probe report, a canary listener, sandboxed runtimes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
from tests.conftest import ProjectFactory
from tests.sandbox.scripts import ESCAPES, SANDBOX_TOML

from splice._sandbox import Protections, check_host
from splice.demo.server import DemoAPI
from splice.runtime import Runtime


@pytest.fixture(scope="session")
def host() -> Protections:
    """What this host grants, probed once per test process (the same probe the zygote runs)."""
    return check_host(None)


def need_any(host: Protections, *names: str) -> None:
    """Skip unless at least one of the protections that stop this escape is granted here."""
    if not any(host.granted(name) for name in names):
        reasons = "; ".join(f"{p.name}: {p.detail}" for p in host.items if p.name in names)
        pytest.skip(f"this host grants none of {', '.join(names)} ({reasons})")


@dataclass
class Canary:
    """A TCP listener on 127.0.0.1 that counts every connection made to it."""

    host: str = "127.0.0.1"
    port: int = 0
    connections: list[bytes] = field(default_factory=list)


@pytest.fixture
async def canary() -> AsyncIterator[Canary]:
    seen = Canary()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections.append(await reader.read(200))
        writer.close()

    server = await asyncio.start_server(accept, seen.host, 0)
    seen.port = server.sockets[0].getsockname()[1]
    yield seen
    server.close()
    await server.wait_closed()


@pytest.fixture
def escape_root(make_project: ProjectFactory) -> Iterator[object]:
    yield make_project({"box.py": ESCAPES}, toml=SANDBOX_TOML)


@pytest.fixture
async def rt(escape_root: object, demo_api: DemoAPI) -> AsyncIterator[Runtime]:
    """A runtime in process mode with the sandbox on "auto", and two connections of acme."""
    runtime = await Runtime.open(escape_root, isolation="process")
    config = {"api_url": demo_api.url}
    await runtime.connections.add("acme", "own", {"api_key": "demo-key"}, config=config)
    await runtime.connections.add("acme", "victim", {"api_key": "victim-secret-key"}, config=config)
    yield runtime
    await runtime.close()
