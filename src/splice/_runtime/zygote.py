"""The zygote: a small single-threaded process that has imported splice and the project,
and forks one child per run on request.

Why a separate process: ``fork()`` copies only the calling thread, and the worker that owns
the database pool, the HTTP session and the event loop has threads whose locks would stay
locked in a child (STACK.md, "Isolation"). The zygote is started with ``subprocess`` before
it could matter, never starts a thread, and forks in ~2 ms because everything is already
imported. The worker hands it one end of a socketpair per run (``socket.send_fds``), so the
child talks to the worker directly and the zygote only forks and reaps.

Before it imports the project, the zygote probes the host and confines itself (no network,
a read-only filesystem view without the store, Landlock, seccomp: ``splice._sandbox``), so
the project's import-time code already runs sandboxed; each child then narrows that to its
own run (rlimits, its scratch directory, an unprivileged uid) before the script starts.
The zygote creates each run's scratch directory and removes it when the child has exited.
It keeps one child forked and confined ahead of time (:class:`_Spares`), so a run usually
starts in a process that is already waiting for it.

Control messages (JSON over SOCK_SEQPACKET):
worker → zygote ``{"t": "fork", "run": id, "limits": {...}}`` + one fd;
zygote → worker ``{"t": "ready", "sandbox": {...}}``, ``{"t": "forked", "run", "pid"}``,
``{"t": "fork_failed", "run", "error"}``, ``{"t": "exit", "pid", "code", "signal"}``,
``{"t": "error", "error": {...}}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import linecache
import os
import select
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from splice._runtime import output, wire
from splice._runtime.channel import SocketChannel
from splice._runtime.child import run_script
from splice._runtime.resource_runs import script_of
from splice._sandbox import Confinement, Explainer, Protections, Settings, refuse_processes, setup_zygote
from splice.config import read_config
from splice.errors import RunError, SpliceError
from splice.project import Project, load_project


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="splice-zygote")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--sandbox-dir", required=True, help="an empty folder for the filesystem view and scratch")
    parser.add_argument("--secret", action="append", default=[], help="a file or folder no run may read")
    args = parser.parse_args(argv)
    ctrl = socket.socket(fileno=args.fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        confinement, protections = _confine(Path(args.project), [Path(p) for p in args.secret], args.sandbox_dir)
        project = load_project(args.project)
    except SpliceError as exc:
        wire.send_control(ctrl, {"t": "error", "error": exc.to_dict()})
        sys.exit(1)
    import splice.context  # noqa: F401 - warm every import a child needs

    _warm_config_classes(project)
    output.install()
    _cache_sources(project)
    # What the zygote imported stays out of every collection: a child's garbage collector
    # would otherwise walk (and so copy, page by page) the whole inherited heap.
    gc.freeze()
    wire.send_control(ctrl, {"t": "ready", "pid": os.getpid(), "sandbox": protections.to_dict()})
    _serve(ctrl, project, confinement)


def _confine(root: Path, secret: list[Path], base: str) -> tuple[Confinement, Protections]:
    """Probe and confine this process before the project's code runs here (see ``splice._sandbox``)."""
    config = read_config(root)
    try:
        return setup_zygote(Settings.from_config(config.runtime), root, config.project.package, secret, base)
    except SpliceError:
        raise
    except Exception as exc:
        raise SpliceError(
            f"the script sandbox could not be set up: {exc}",
            code="SANDBOX_UNAVAILABLE",
            hint='run `splice doctor` to see what this host grants; sandbox = "off" in splice.toml disables it',
        ) from None


def _warm_config_classes(project: Project) -> None:
    """Make each integration's ``ctx.config`` class here, once, rather than in every child."""
    from splice.context._config import config_class

    for integration in project.integrations.values():
        if integration.config_model is not None:
            config_class(integration.config_model)


def _cache_sources(project: Project) -> None:
    """Keep the project's source lines in memory, so a run's traceback shows them whatever it may read."""
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and Path(path).is_relative_to(project.root):
            linecache.getlines(path)


def _serve(ctrl: socket.socket, project: Project, confinement: Confinement) -> None:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: dict[int, str] = {}
    spares = _Spares(ctrl, project, confinement, (wake_r, wake_w))
    spares.replenish()
    try:
        while True:
            ready, _, _ = select.select([ctrl, wake_r], [], [])
            if wake_r in ready:
                os.read(wake_r, 512)
                _reap(ctrl, children, confinement, spares)
                spares.replenish()
            if ctrl in ready:
                message, fds = wire.recv_control(ctrl, maxfds=1)
                if message is None:
                    break
                if message.get("t") == "fork" and fds:
                    spares.start_run(fds[0], message, children)
                else:
                    for fd in fds:
                        os.close(fd)
    except (ConnectionError, OSError):
        pass  # the worker went away (closed or reset the socket): same as a clean EOF
    spares.discard()
    for pid, scratch in children.items():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        confinement.remove_scratch(scratch)


@dataclass
class _Spare:
    """A child forked ahead of its run, confined and waiting on ``link`` for the run's socket."""

    pid: int
    link: socket.socket
    scratch: str


class _Spares:
    """Keeps one spare child ready, so a run starts without waiting for a fork and its set-up.

    Why: forking, the copy-on-write faults that follow, entering the sandbox and building an
    event loop take a few milliseconds of a run's start; done while the previous run is going,
    they are off the next run's path. A spare holds no run's data until it is handed one
    (scratch directory, limits and socket), and serves that one run only, then exits.
    """

    def __init__(self, ctrl: socket.socket, project: Project, confinement: Confinement, wake: tuple[int, int]) -> None:
        self.ctrl, self.project, self.confinement, self.wake = ctrl, project, confinement, wake
        self.ready: _Spare | None = None

    def start_run(self, fd: int, message: dict[str, Any], children: dict[int, str]) -> None:
        """Hand the run (its socket ``fd`` and ``message``) to the spare, forking one if none is ready."""
        try:
            spare, self.ready = self.ready or self._fork(), None
            wire.send_control(spare.link, message, [fd])
        except OSError as exc:
            error = RunError(f"could not start the run's process: {exc}", code="CHILD_CRASHED")
            wire.send_control(self.ctrl, {"t": "fork_failed", "run": message.get("run"), "error": error.to_dict()})
            return
        finally:
            os.close(fd)
        spare.link.close()
        children[spare.pid] = spare.scratch
        wire.send_control(self.ctrl, {"t": "forked", "run": message.get("run"), "pid": spare.pid})

    def replenish(self) -> None:
        """Fork the next spare, if none is waiting (when a run has ended: not while it runs,
        whose CPU the fork and the spare's set-up would take)."""
        if self.ready is None:
            with contextlib.suppress(OSError):  # no spare now: the next run forks its own
                self.ready = self._fork()

    def lost(self, pid: int) -> bool:
        """The spare ``pid`` exited before it got a run (it is replaced at the next run)."""
        if self.ready is None or self.ready.pid != pid:
            return False
        self.ready.link.close()
        self.confinement.remove_scratch(self.ready.scratch)
        self.ready = None
        return True

    def discard(self) -> None:
        if self.ready is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.ready.pid, signal.SIGKILL)
            self.lost(self.ready.pid)

    def _fork(self) -> _Spare:
        scratch = self.confinement.new_scratch("run")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            self.confinement.remove_scratch(scratch)
            raise
        if pid == 0:
            ours.close()
            for end in self.wake:
                os.close(end)
            _child(self.ctrl, theirs, self.project, self.confinement, scratch)
        theirs.close()
        return _Spare(pid, ours, scratch)


def _reap(ctrl: socket.socket, children: dict[int, str], confinement: Confinement, spares: _Spares) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        scratch = children.pop(pid, None)
        if scratch is None:
            spares.lost(pid)
            continue
        confinement.remove_scratch(scratch)
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


def _child(ctrl: socket.socket, link: socket.socket, project: Project, confinement: Confinement, scratch: str) -> None:
    """In the forked spare: drop the zygote's plumbing, enter the sandbox, wait for a run, run it, exit."""
    code = 1
    try:
        ctrl.close()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.setpgid(0, 0)
        failure: SpliceError | None = None
        explain: Explainer | None = None
        try:
            confinement.enter_child(scratch, link.fileno())
        except Exception as exc:  # never run the script half-confined: report why instead
            failure = SpliceError(f"the run's sandbox could not be set up: {exc}", code="SANDBOX_UNAVAILABLE")
        if confinement.hardened and failure is None:
            visible = confinement.paths.read + confinement.paths.devices
            explain = Explainer(visible, scratch, confinement.settings.file_size_bytes)
            refuse_processes()
        loop = asyncio.new_event_loop()
        message, fds = wire.recv_control(link, maxfds=1)
        link.close()
        if message is None or not fds:
            os._exit(0)  # the zygote is stopping: no run for this spare
        limits = message.get("limits") or {}
        try:
            confinement.limit_run(int(limits.get("memory_bytes") or 0), int(limits.get("cpu_seconds") or 0))
        except Exception as exc:
            failure = failure or SpliceError(f"the run's limits could not be set: {exc}", code="SANDBOX_UNAVAILABLE")
        code = loop.run_until_complete(_child_async(fds[0], project, scratch, explain, failure))
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        os._exit(code)


async def _child_async(
    fd: int, project: Project, scratch: str, explain: Explainer | None, failure: SpliceError | None
) -> int:
    """Run the run ``start`` names; with ``"session": true`` in it, then wait for the next run of
    the same session (a flow run's code steps on one connection), until the parent says ``exit``."""
    sock = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_connection(sock=sock)
    start: dict[str, Any] | None
    start, _ = await wire.read_frame(reader)
    channel = SocketChannel(reader, writer)
    channel.start()
    while start is not None:
        done = await _one_run(start, channel, project, scratch, explain, failure)
        output = done.pop("output", None)
        blob = orjson.dumps(output) if done.get("ok") else b""
        if not start.get("session"):
            await channel.finish(done, blob)
            break
        await channel.report(done, blob)
        start = await channel.next_run()
    # Straight out: asyncio.run's teardown would wait for whatever the script left running.
    sys.stdout.flush()
    os._exit(0)


async def _one_run(
    start: dict[str, Any],
    channel: SocketChannel,
    project: Project,
    scratch: str,
    explain: Explainer | None,
    failure: SpliceError | None,
) -> dict[str, Any]:
    run = start["run"]
    start["scratch_dir"] = scratch
    try:
        if failure is not None:
            raise failure
        script = script_of(project, run["integration"], run["script"], run.get("kind"))
        return await run_script(start, channel, script, explain=explain)
    except SpliceError as exc:
        return {"t": "done", "ok": False, "error": exc.to_dict()}


if __name__ == "__main__":
    main()
