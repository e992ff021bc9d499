"""A guard around importing the project's modules outside the sandbox.

The worker must import the project to know its definitions (scripts, input models, auth),
and importing runs each module's top-level code there, unsandboxed. While the import runs,
a Python audit hook refuses what no integration module needs at import time: sockets and
name lookups, processes, signals, threads, ``ctypes`` libraries, SQLite, and opening the
store's files (``.splice/``, the database). A module that tries fails to import, and the
project load fails naming it.

This is defence in depth, not a sandbox: the zygote imports the same modules inside the
real one (namespaces, Landlock, seccomp), but a module written to hide from both could still
act in the worker later, through code the worker itself calls (an ``auth.Custom`` function,
a validator, a callback it scheduled). Review integration code as you would any code that
runs in your server.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes  # noqa: F401 - imported before any guard, so its own import-time dlopen is not refused
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from splice.errors import SandboxViolation

_REFUSED = {
    "socket.__new__": "open a socket",
    "socket.connect": "open a connection",
    "socket.bind": "bind a socket",
    "socket.getaddrinfo": "resolve host names",
    "socket.gethostbyname": "resolve host names",
    "socket.gethostbyaddr": "resolve host names",
    "subprocess.Popen": "start a process",
    "os.system": "start a process",
    "os.exec": "start a process",
    "os.fork": "start a process",
    "os.forkpty": "start a process",
    "os.posix_spawn": "start a process",
    "os.spawn": "start a process",
    "os.kill": "send a signal",
    "os.killpg": "send a signal",
    "_thread.start_new_thread": "start a thread",
    "ctypes.dlopen": "load a C library with ctypes",
    "sqlite3.connect": "open a SQLite database",
}
_FILE_EVENTS = frozenset({"open", "os.listdir", "os.scandir", "os.remove", "os.rename", "shutil.copyfile"})
_guarding: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar("splice_import_guard", default=None)
_installed = False


@contextlib.contextmanager
def guarded_import(secret: Iterable[Path]) -> Iterator[None]:
    """Import inside this block under the guard; ``secret``: files and folders never to touch.

    Only the calling thread (context) is guarded: the worker's other threads go on as usual.
    """
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
    token = _guarding.set(tuple(os.path.realpath(p) for p in secret))
    try:
        yield
    finally:
        _guarding.reset(token)


def _hook(event: str, args: tuple[object, ...]) -> None:
    secret = _guarding.get()
    if secret is None:
        return
    what = _REFUSED.get(event)
    if what is None and event in _FILE_EVENTS and args and _touches(args[0], secret):
        what = f"touch the project's store ({args[0]!r})"
    if what is not None:
        raise SandboxViolation(
            f"integration modules may not {what} while the project is imported ({event})",
            hint="move the work into a script: it runs sandboxed, with ctx.api for HTTP",
        )


def _touches(path: object, secret: tuple[str, ...]) -> bool:
    if not isinstance(path, str | bytes | os.PathLike):
        return False
    real = os.path.realpath(os.fsdecode(path))
    return any(real == s or real.startswith(s + "/") for s in secret)
