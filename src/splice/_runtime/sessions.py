"""A child kept between runs: a flow run's consecutive code steps on one connection share it.

Forking and confining a child costs a few milliseconds, more than a trivial step itself; a
40-step flow would spend most of its time there. So a flow run's code steps of one connection
run one after another in the same sandboxed child, each with its own ``start`` (its own run
id, logs and result), the child waiting for the next between them.

What they share: the child process — its memory, module-level globals, the run's scratch
directory — and nothing else: every step gets its own ``ctx``, and only that connection's
credentials ever enter it (another connection's steps get another child). A step that times
out or is killed takes the child down with it; the next step forks a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from splice._runtime import wire
from splice._runtime.outcomes import crashed, timed_out
from splice._runtime.request import RunOutcome
from splice._runtime.spawner import Spawner

if TYPE_CHECKING:
    from splice._runtime.gateway import RunGateway


class Forks(Protocol):
    """Where a session's child comes from: an executor's zygote."""

    async def spawner(self) -> Spawner: ...


class ChildSession:
    """One sandboxed child serving consecutive runs; forked at its first."""

    def __init__(self, cpu_seconds: int) -> None:
        self.cpu_seconds = cpu_seconds
        self._spawner: Spawner | None = None
        self._pid: int | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader: asyncio.StreamReader | None = None

    async def execute(
        self, executor: Forks, gateway: RunGateway, start: dict[str, Any], time_limit: float, limits: dict[str, Any]
    ) -> RunOutcome:
        """Run one script in this session's child (forking it when there is none)."""
        if self._pid is None:
            spawner = await executor.spawner()
            pid, sock = await spawner.fork(gateway.run_id, {**limits, "cpu_seconds": self.cpu_seconds})
            self._spawner, self._pid = spawner, pid
            self._reader, self._writer = await asyncio.open_connection(sock=sock)
        assert self._reader is not None and self._writer is not None and self._spawner is not None
        start["session"] = True
        try:
            await asyncio.wait_for(gateway.serve(self._reader, self._writer, start, keep=True), time_limit)
        except TimeoutError:
            await self._kill()
            return timed_out(time_limit)
        except asyncio.CancelledError:
            await asyncio.shield(self._kill())
            raise
        if gateway.done is not None:
            return RunOutcome.from_message(gateway.done)
        pid, spawner = self._pid, self._spawner
        self._forget()
        return crashed(await spawner.wait_exit(pid))

    async def close(self) -> None:
        """End the session: the child exits once it reads ``exit``."""
        if self._pid is None or self._writer is None or self._spawner is None:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            self._writer.write(wire.encode({"t": "exit"}))
            await self._writer.drain()
        self._writer.close()
        self._spawner.release(self._pid)
        self._forget()

    async def _kill(self) -> None:
        if self._pid is not None and self._spawner is not None:
            pid, spawner = self._pid, self._spawner
            spawner.kill(pid)
            if self._writer is not None:
                self._writer.close()
            self._forget()
            await spawner.wait_exit(pid)

    def _forget(self) -> None:
        self._pid = self._spawner = self._reader = self._writer = None


class SessionPool:
    """A flow run's idle sessions, by the executor (project version) and connection they serve.

    A step takes one (or a new one) and gives it back when it ends, so steps that run one after
    another share a child, and steps that run at the same time (a for-each's items) get one each.
    """

    def __init__(self, cpu_seconds: int) -> None:
        self.cpu_seconds = cpu_seconds
        self._idle: dict[tuple[int, tuple[str, str] | None], list[ChildSession]] = {}
        self._all: list[ChildSession] = []

    @contextlib.contextmanager
    def session(self, executor: Forks, connection: tuple[str, str] | None) -> Iterator[ChildSession]:
        """An idle child of ``connection`` (integration, id) for this executor, or a new one: a
        child never serves two connections, so it only ever holds one's credentials."""
        key = (id(executor), connection)
        idle = self._idle.setdefault(key, [])
        if idle:
            session = idle.pop()
        else:
            session = ChildSession(self.cpu_seconds)
            self._all.append(session)
        try:
            yield session
        finally:
            idle.append(session)

    async def close(self) -> None:
        for session in self._all:
            await session.close()
        self._all.clear()
        self._idle.clear()
