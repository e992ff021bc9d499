"""Hosts for the tests: network namespaces, each with its own hostname, reaching the test's services over veth.

Each host is a network namespace with a veth pair to this one (``10.x.<n>.2`` inside,
``10.x.<n>.1`` here) and a default route through it; the services live on one address
here, :attr:`Hosts.service` (on the loopback interface, removed afterwards; the kernel may
lack the dummy interface's module), which every host reaches the same way, so
a connection's ``api_url`` is right for all of them. A command runs on a host under
``ip netns exec`` and ``unshare --uts`` with the host's name as its hostname: to splice, a
process there is on another machine (its pid means nothing to the others).

PostgreSQL listens on 127.0.0.1 only, so :class:`Forward` carries the service address's
port 5432 to it (a few lines of asyncio in a thread; no system tool needed).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def unavailable() -> str | None:
    """Why namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    for tool in ("ip", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool!r} is not installed (iproute2 / util-linux)"
    probe = f"splice-probe-{secrets.token_hex(3)}"
    try:
        _ip("netns", "add", probe)
    except subprocess.CalledProcessError as exc:
        return f"ip netns add failed: {exc.stderr.strip()}"
    _ip("netns", "del", probe)
    return None


class Hosts:
    """``count`` namespaces named ``<tag>-h1``…, their veths, and the service address."""

    def __init__(self, count: int) -> None:
        self.tag = secrets.token_hex(2)
        self.subnet = f"10.{200 + secrets.randbelow(50)}"  # two test runs at once do not collide
        self.names = [f"h{n}" for n in range(1, count + 1)]
        self.service = f"{self.subnet}.0.1"
        self._made: list[tuple[str, str]] = []

    def namespace(self, host: str) -> str:
        return f"splice-{self.tag}-{host}"

    def make(self) -> None:
        _ip("addr", "add", f"{self.service}/32", "dev", "lo")
        self._made.append(("addr", f"{self.service}/32"))
        for n, host in enumerate(self.names, start=1):
            ns, here, there = self.namespace(host), f"sp{self.tag}{host}a", f"sp{self.tag}{host}b"
            _ip("netns", "add", ns)
            self._made.append(("netns", ns))
            _ip("link", "add", here, "type", "veth", "peer", "name", there)
            self._made.append(("link", here))
            _ip("link", "set", there, "netns", ns)
            _ip("addr", "add", f"{self.subnet}.{n}.1/24", "dev", here)
            _ip("link", "set", here, "up")
            for args in (
                ("addr", "add", f"{self.subnet}.{n}.2/24", "dev", there),
                ("link", "set", there, "up"),
                ("link", "set", "lo", "up"),
                ("route", "add", "default", "via", f"{self.subnet}.{n}.1"),
            ):
                _ip("-n", ns, *args)

    def remove(self) -> None:
        for kind, name in reversed(self._made):
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip(kind, "del", name, *(["dev", "lo"] if kind == "addr" else []))
        self._made.clear()

    def prefix(self, host: str) -> list[str]:
        """Run what follows on ``host``: its network, its hostname."""
        return ["ip", "netns", "exec", self.namespace(host), "unshare", "--uts", "--",
                "sh", "-c", f'hostname {host} && exec "$@"', "sh"]  # fmt: skip


class Forward:
    """Carry TCP connections from ``listen`` to ``target`` (host, port), on a thread of its own."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.listen = listen
        self.target = target
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="forward")
        self._writers: list[asyncio.StreamWriter] = []

    async def _serve(self) -> asyncio.AbstractServer:
        return await asyncio.start_server(self._carry, *self.listen)

    async def _carry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(OSError):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    @contextlib.contextmanager
    def running(self) -> Iterator[Forward]:
        self._thread.start()
        server = asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self._close(server), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    async def _close(self, server: asyncio.AbstractServer) -> None:
        server.close()
        for writer in self._writers:
            writer.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
