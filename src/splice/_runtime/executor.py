"""Where a run's script executes: a forked child (default) or in-process (debugging)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from typing import Any

from splice._runtime import output
from splice._runtime.channel import LocalChannel
from splice._runtime.child import run_script
from splice._runtime.gateway import RunGateway
from splice._runtime.outcomes import crashed, timed_out
from splice._runtime.request import RunOutcome
from splice._runtime.sessions import ChildSession
from splice._runtime.spawner import Spawner
from splice._sandbox import Protections
from splice.integration import Script
from splice.project import Project

logger = logging.getLogger("splice")


class Executor:
    """Runs scripts under a time limit; owns the zygote in process mode.

    ``announce``: log what the sandbox grants when the zygote starts (a project version loaded
    again leaves it to :mod:`~splice._runtime.versions`, which logs it when it changed).
    """

    def __init__(self, project: Project, isolation: str, *, announce: bool = True) -> None:
        self.project = project
        self.isolation = isolation
        self.announce = announce
        self._spawner: Spawner | None = None
        self._starting = asyncio.Lock()

    async def execute(
        self,
        script: Script,
        gateway: RunGateway,
        start: dict[str, Any],
        time_limit: float,
        limits: dict[str, Any],
        session: ChildSession | None = None,
    ) -> RunOutcome:
        """Run the script; how it ended comes back (output, or an error naming why).

        ``session``: run it in that session's child, kept for the next run (a flow's steps).
        """
        if self.isolation == "none":
            return await self._in_process(script, gateway, start, time_limit)
        if session is not None:
            return await session.execute(self, gateway, start, time_limit, limits)
        return await self._in_child(gateway, start, time_limit, limits)

    async def _in_process(
        self, script: Script, gateway: RunGateway, start: dict[str, Any], time_limit: float
    ) -> RunOutcome:
        output.install()
        channel = LocalChannel(gateway.handle, gateway.handle_stream, gateway.on_message)
        made: list[str] = []

        def scratch() -> str:  # made on first use only: most runs never ask for one
            made.append(tempfile.mkdtemp(prefix="splice-run-"))
            return made[0]

        start["scratch_dir"] = scratch
        try:
            return RunOutcome.from_message(await asyncio.wait_for(run_script(start, channel, script), time_limit))
        except TimeoutError:
            return timed_out(time_limit)
        finally:
            for path in made:
                shutil.rmtree(path, ignore_errors=True)

    async def start(self) -> None:
        """Start the zygote now rather than at the first run (a server does, to fail early in strict mode)."""
        if self.isolation != "none":
            await self.spawner()

    async def spawner(self) -> Spawner:
        async with self._starting:
            if self._spawner is None:
                spawner = Spawner(self.project)
                await spawner.start()
                self._spawner = spawner
                if self.announce:
                    self.announce_protections()
            return self._spawner

    @property
    def protections(self) -> Protections | None:
        """What the zygote's sandbox grants; None before it started (or in-process)."""
        return self._spawner.protections if self._spawner is not None else None

    def announce_protections(self) -> None:
        report = self.protections
        if report is not None:
            logger.log(logging.WARNING if report.missing and report.mode != "off" else logging.INFO,
                       report.summary())  # fmt: skip

    async def _in_child(
        self, gateway: RunGateway, start: dict[str, Any], time_limit: float, limits: dict[str, Any]
    ) -> RunOutcome:
        spawner = await self.spawner()
        pid, sock = await spawner.fork(gateway.run_id, limits)
        reader, writer = await asyncio.open_connection(sock=sock)
        try:
            await asyncio.wait_for(gateway.serve(reader, writer, start), time_limit)
        except TimeoutError:
            spawner.kill(pid)
            await spawner.wait_exit(pid)
            return timed_out(time_limit)
        except asyncio.CancelledError:
            spawner.kill(pid)
            spawner.release(pid)
            raise
        if gateway.done is not None:
            spawner.release(pid)
            return RunOutcome.from_message(gateway.done)
        return crashed(await spawner.wait_exit(pid))

    async def close(self) -> None:
        if self._spawner is not None:
            await self._spawner.close()
            self._spawner = None
