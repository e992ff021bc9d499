"""Turning what the sandbox refused into a run error that says so.

Inside a sandboxed child the kernel answers a forbidden call with an errno, and the script
sees an ordinary ``PermissionError``, a ``socket.gaierror`` or a missing file. Reported as
``SCRIPT_ERROR: PermissionError: [Errno 1]`` that reads like a bug in the script, so
:class:`Explainer` recognises these and names the rule instead: ``SANDBOX_DENIED`` (with
what a run may do), ``PROCESS_LIMIT_EXCEEDED``, ``FILE_SIZE_LIMIT_EXCEEDED``.

:func:`refuse_processes` adds a Python audit hook in the child, so starting a process
(``subprocess``, ``os.system``, ``os.fork``) fails at once with a clear message. It is a
courtesy, not a wall: ``ctypes`` can still make the raw system call, which seccomp refuses.
"""

from __future__ import annotations

import errno
import socket
import sys
from collections.abc import Iterable

from splice.errors import LimitExceeded, SandboxViolation, SpliceError

_RULES = (
    "a run reaches the network only through ctx.api / ctx.internal_api, writes only in ctx.scratch_dir "
    "(also $TMPDIR), reads only Python and the project's package, and cannot start processes"
)
#: errnos only the sandbox produces in a run: a read-only view, an empty network namespace
_DENIED_ERRNOS = frozenset({errno.EPERM, errno.EACCES, errno.EROFS, errno.ENETUNREACH})
_PROCESS_EVENTS = frozenset(
    {"os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.system", "os.exec", "subprocess.Popen"}
)


class Explainer:
    """Maps an exception raised by a script in a sandboxed child to a clearer run error."""

    def __init__(self, visible: Iterable[str], scratch: str, file_size_bytes: int) -> None:
        self.visible = tuple(p.rstrip("/") for p in visible)
        self.scratch = scratch
        self.file_size_bytes = file_size_bytes

    def __call__(self, exc: BaseException) -> SpliceError | None:
        if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
            return LimitExceeded(
                f"the run wrote a file past its size limit of {self.file_size_bytes // (1024 * 1024)} MiB",
                code="FILE_SIZE_LIMIT_EXCEEDED",
                hint="raise runtime.file_size_limit_mb in splice.toml",
            )
        if isinstance(exc, BlockingIOError) and exc.errno == errno.EAGAIN:
            return process_limit()
        denied = isinstance(exc, socket.gaierror) or (isinstance(exc, OSError) and exc.errno in _DENIED_ERRNOS)
        if denied or (isinstance(exc, FileNotFoundError) and self._outside(exc.filename)):
            return SandboxViolation(f"the sandbox refused this: {type(exc).__name__}: {exc}", hint=_RULES)
        return None

    def _outside(self, filename: object) -> bool:
        """A path the run cannot see at all (the database, ``/proc``), not a typo in scratch."""
        if not isinstance(filename, str) or not filename.startswith("/"):
            return False
        if filename == self.scratch or filename.startswith(self.scratch + "/"):
            return False
        return not any(filename == p or filename.startswith(p + "/") for p in self.visible)


def process_limit() -> LimitExceeded:
    return LimitExceeded(
        "a run may not start processes (its process limit is one: itself)",
        code="PROCESS_LIMIT_EXCEEDED",
        hint="do the work in Python inside the script; call other services through ctx.api",
    )


def refuse_processes() -> None:
    """Install the audit hook described in the module docstring (in the child only)."""

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event in _PROCESS_EVENTS:
            raise process_limit()

    sys.addaudithook(hook)
