"""The worker's handle on the zygote: start it, ask for a child, learn when children exit."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from splice._runtime import wire
from splice._sandbox import Protections, sqlite_file, switched_off
from splice.errors import InternalError, error_from_dict
from splice.project import Project

#: Variables a script's process never inherits: the store's location and its key.
_PRIVATE_ENV = ("SPLICE_SECRET_KEY", "SPLICE_DATABASE_URL", "SPLICE_TEST_POSTGRES_URL")


_SANDBOX_PREFIX = "splice-sandbox-"


def _remove_abandoned_sandbox_dirs() -> None:
    """Remove the sandbox folders of workers that died without cleaning up (``kill -9``).

    Each folder's name carries its worker's pid; a folder whose worker is gone is removed.
    """
    base = Path(tempfile.gettempdir())
    for path in base.glob(f"{_SANDBOX_PREFIX}*-*"):
        pid = path.name[len(_SANDBOX_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)


def alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (owned by us or not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Spawner:
    """Owns one zygote process; :meth:`fork` returns ``(pid, socket)`` for a new child."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.project_root = project.root
        #: what the zygote's sandbox probe found (filled by :meth:`start`)
        self.protections: Protections = switched_off()
        self._sandbox_dir: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._ctrl: socket.socket | None = None
        self._forks: collections.deque[asyncio.Future[int]] = collections.deque()
        self._exits: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._released: set[int] = set()
        self._ready: asyncio.Future[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self, timeout: float = 120.0) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {k: v for k, v in os.environ.items() if k not in _PRIVATE_ENV}
        _remove_abandoned_sandbox_dirs()
        self._sandbox_dir = tempfile.mkdtemp(prefix=f"{_SANDBOX_PREFIX}{os.getpid()}-")
        secret = [self.project.state_dir, sqlite_file(self.project.database_url)]
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-P",  # the worker's folder is not on the zygote's import path: runs must not read it
                "-m",
                "splice._runtime.zygote",
                "--fd",
                str(theirs.fileno()),
                "--project",
                str(self.project_root),
                "--sandbox-dir",
                self._sandbox_dir,
                *(arg for path in secret if path is not None for arg in ("--secret", str(path))),
            ],
            pass_fds=(theirs.fileno(),),
            env=env,
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        ours.setblocking(False)
        self._ctrl = ours
        self._ready = loop.create_future()
        loop.add_reader(ours.fileno(), self._on_readable)
        try:
            await asyncio.wait_for(self._ready, timeout)
        except BaseException:
            await self.close()
            raise

    def _on_readable(self) -> None:
        assert self._ctrl is not None
        while True:
            try:
                message, _ = wire.recv_control(self._ctrl)
            except BlockingIOError:
                return
            except OSError:
                message = None
            if message is None:
                self._on_eof()
                return
            self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("t")
        if kind == "ready" and self._ready and not self._ready.done():
            if message.get("sandbox"):
                self.protections = Protections.from_dict(message["sandbox"])
            self._ready.set_result(None)
        elif kind == "error" and self._ready and not self._ready.done():
            self._ready.set_exception(error_from_dict(message.get("error") or {}))
        elif kind == "forked" and self._forks:
            future = self._forks.popleft()
            if not future.done():
                future.set_result(int(message["pid"]))
        elif kind == "fork_failed" and self._forks:
            future = self._forks.popleft()
            if not future.done():
                future.set_exception(error_from_dict(message.get("error") or {}))
        elif kind == "exit":
            pid = int(message["pid"])
            if pid in self._released:
                self._released.discard(pid)
            else:
                self._exit_future(pid).set_result(message)

    def _on_eof(self) -> None:
        assert self._ctrl is not None
        asyncio.get_running_loop().remove_reader(self._ctrl.fileno())
        gone = InternalError("the zygote process exited", code="ZYGOTE_GONE")
        if self._ready and not self._ready.done():
            self._ready.set_exception(
                InternalError(
                    "the script runner process exited during start-up",
                    code="ZYGOTE_GONE",
                    hint='run with isolation = "none" in splice.toml to see the error in-process',
                )
            )
        while self._forks:
            self._forks.popleft().set_exception(gone)
        for future in self._exits.values():
            if not future.done():
                future.set_result({"t": "exit", "code": None, "signal": None, "lost": True})

    def _exit_future(self, pid: int) -> asyncio.Future[dict[str, Any]]:
        future = self._exits.get(pid)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._exits[pid] = future
        return future

    async def fork(self, run_id: str, limits: dict[str, Any]) -> tuple[int, socket.socket]:
        """A new child for ``run_id``; the returned socket is the parent's end of its channel."""
        if self._ctrl is None:
            raise InternalError("the script runner is not started", code="ZYGOTE_GONE")
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        async with self._lock:
            self._forks.append(future)
            wire.send_control(self._ctrl, {"t": "fork", "run": run_id, "limits": limits}, [child_end.fileno()])
        child_end.close()
        try:
            pid = await future
        except BaseException:
            parent_end.close()
            raise
        parent_end.setblocking(False)
        return pid, parent_end

    async def wait_exit(self, pid: int, timeout: float = 5.0) -> dict[str, Any]:
        """The child's exit report (code or signal); ``{}`` when it did not come in time."""
        try:
            return await asyncio.wait_for(asyncio.shield(self._exit_future(pid)), timeout)
        except TimeoutError:
            return {}
        finally:
            future = self._exits.get(pid)
            if future is not None and future.done():
                del self._exits[pid]

    def release(self, pid: int, grace: float = 5.0) -> None:
        """Nobody will wait for ``pid``'s exit report; kill it if it lingers past ``grace``."""
        future = self._exits.pop(pid, None)
        if future is None or not future.done():
            self._released.add(pid)
            asyncio.get_running_loop().call_later(grace, self._kill_if_released, pid)

    def _kill_if_released(self, pid: int) -> None:
        if pid in self._released:
            self.kill(pid)

    def kill(self, pid: int) -> None:
        """Kill a child and everything it started (its own process group)."""
        for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                target()
                return

    async def close(self) -> None:
        if self._ctrl is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._ctrl.fileno())
            self._ctrl.close()
            self._ctrl = None
        if self._proc is not None:
            proc, self._proc = self._proc, None
            try:
                await asyncio.wait_for(asyncio.to_thread(proc.wait), 5)
            except TimeoutError:
                proc.kill()
                await asyncio.to_thread(proc.wait)
        if self._sandbox_dir is not None:
            # empty unless the host refused the filesystem view (then scratch lived on disk here)
            shutil.rmtree(self._sandbox_dir, ignore_errors=True)
            self._sandbox_dir = None
