"""The zygote: a small single-threaded process that has imported splice and the project,
and forks one child per run on request.

Why a separate process: ``fork()`` copies only the calling thread, and the worker that owns
the database pool, the HTTP session and the event loop has threads whose locks would stay
locked in a child (STACK.md, "Isolation"). The zygote is started with ``subprocess`` before
it could matter, never starts a thread, and forks in ~2 ms because everything is already
imported. The worker hands it one end of a socketpair per run (``socket.send_fds``), so the
child talks to the worker directly and the zygote only forks and reaps.

Control messages (JSON over SOCK_SEQPACKET):
worker → zygote ``{"t": "fork", "run": id, "limits": {...}}`` + one fd;
zygote → worker ``{"t": "ready"}``, ``{"t": "forked", "run", "pid"}``,
``{"t": "exit", "pid", "code", "signal"}``, ``{"t": "error", "error": {...}}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import select
import signal
import socket
import sys
from typing import Any

import orjson

from splice._runtime import output, wire
from splice._runtime.channel import SocketChannel
from splice._runtime.child import run_script
from splice.errors import SpliceError
from splice.project import Project, load_project


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="splice-zygote")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--project", required=True)
    args = parser.parse_args(argv)
    ctrl = socket.socket(fileno=args.fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        project = load_project(args.project)
    except SpliceError as exc:
        wire.send_control(ctrl, {"t": "error", "error": exc.to_dict()})
        sys.exit(1)
    import splice.context  # noqa: F401 - warm every import a child needs

    output.install()
    wire.send_control(ctrl, {"t": "ready", "pid": os.getpid()})
    _serve(ctrl, project)


def _serve(ctrl: socket.socket, project: Project) -> None:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: set[int] = set()
    try:
        while True:
            ready, _, _ = select.select([ctrl, wake_r], [], [])
            if wake_r in ready:
                os.read(wake_r, 512)
                _reap(ctrl, children)
            if ctrl in ready:
                message, fds = wire.recv_control(ctrl, maxfds=1)
                if message is None:
                    break
                if message.get("t") == "fork" and fds:
                    pid = os.fork()
                    if pid == 0:
                        os.close(wake_r)
                        os.close(wake_w)
                        _child(ctrl, fds[0], message, project)
                    children.add(pid)
                    os.close(fds[0])
                    wire.send_control(ctrl, {"t": "forked", "run": message.get("run"), "pid": pid})
                else:
                    for fd in fds:
                        os.close(fd)
    except (ConnectionError, OSError):
        pass  # the worker went away (closed or reset the socket): same as a clean EOF
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def _reap(ctrl: socket.socket, children: set[int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        code = os.waitstatus_to_exitcode(status)
        wire.send_control(
            ctrl,
            {
                "t": "exit",
                "pid": pid,
                "code": code if code >= 0 else None,
                "signal": -code if code < 0 else None,
            },
        )


def _child(ctrl: socket.socket, fd: int, message: dict[str, Any], project: Project) -> None:
    """In the forked child: drop the zygote's plumbing, apply limits, run, exit."""
    code = 1
    try:
        ctrl.close()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.setpgid(0, 0)
        apply_limits(message.get("limits") or {})
        code = asyncio.run(_child_async(fd, project))
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        os._exit(code)


def apply_limits(limits: dict[str, Any]) -> None:
    """Memory (address space) and CPU-time limits; the wall clock is the parent's job."""
    memory = limits.get("memory_bytes")
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = limits.get("cpu_seconds")
    if cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu), int(cpu) + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


async def _child_async(fd: int, project: Project) -> int:
    sock = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_connection(sock=sock)
    start, _ = await wire.read_frame(reader)
    channel = SocketChannel(reader, writer)
    channel.start()
    run = start["run"]
    try:
        script = project.integration(run["integration"]).script(run["script"])
        done = await run_script(start, channel, script)
    except SpliceError as exc:
        done = {"t": "done", "ok": False, "error": exc.to_dict()}
    output = done.pop("output", None)
    await channel.finish(done, orjson.dumps(output) if done.get("ok") else b"")
    # Straight out: asyncio.run's teardown would wait for whatever the script left running.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
