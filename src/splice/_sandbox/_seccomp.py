"""seccomp filters (built with ``pyseccomp``, ctypes over libseccomp): system calls a run never needs.

Two filters stack. The zygote loads :func:`zygote_filter` on itself: no new sockets at all
(the only socket a run uses is the socketpair it inherits; refusing ``socket()`` outright
also keeps a run away from unix sockets on disk such as a local PostgreSQL's), no
``io_uring`` (it can open sockets without the ``socket`` call), no ptrace or reading other
processes' memory, no mounts, namespaces, kernel modules, BPF or keyrings. Each run's child
adds :func:`child_filter`: no new processes (threads stay allowed), no ``exec``, no leaving
its process group (the parent kills the group on a time-out), no uid changes.

Both are built once when the zygote starts. libseccomp compiles its rules into a BPF program
on every ``seccomp_load`` (~0.4 ms measured in a child, a tenth of a run's budget), and has no
call to install a program it compiled earlier; so the child filter is compiled once
(``export_bpf``) and each child installs the bytes with one ``prctl`` (:class:`Compiled`).
Refused calls fail with an errno rather than killing the process, so the script sees a
``PermissionError`` (or ``BlockingIOError`` for a new process, as with ``RLIMIT_NPROC``)
and the run fails with a clear error instead of a dead child.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import socket
from typing import Any

from splice._sandbox import _libc

_ZYGOTE_DENIED = (
    "socket", "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "bpf", "perf_event_open", "userfaultfd", "keyctl",
    "add_key", "request_key", "mount", "umount2", "pivot_root", "chroot", "open_by_handle_at",
    "name_to_handle_at", "setns", "unshare", "swapon", "swapoff", "reboot", "acct", "syslog", "iopl",
    "ioperm", "quotactl", "fanotify_init", "move_mount", "open_tree", "fsopen", "fsmount", "fsconfig",
    "fspick", "mount_setattr", "clock_settime", "clock_adjtime", "settimeofday", "adjtimex",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "mknod", "mknodat", "lookup_dcookie",
    "vhangup", "uselib", "personality",
)  # fmt: skip
_CHILD_DENIED = (
    "execve", "execveat", "setsid", "setpgid", "setuid", "setgid", "setreuid", "setregid", "setresuid",
    "setresgid", "setgroups", "setfsuid", "setfsgid",
)  # fmt: skip
_CLONE_THREAD = 0x00010000


def available() -> bool:
    """libseccomp can be loaded (its absence is a missing protection, not an error)."""
    try:
        import pyseccomp  # noqa: F401
    except (ImportError, OSError, RuntimeError):
        return False
    return True


def zygote_filter() -> Any:
    """What neither the zygote nor any run may do; see the module docstring."""
    import pyseccomp as sc

    f = sc.SyscallFilter(sc.ALLOW)
    _deny(f, _ZYGOTE_DENIED, errno.EPERM)
    f.add_rule(sc.ERRNO(errno.EPERM), "socketpair", sc.Arg(0, sc.NE, socket.AF_UNIX))
    return f


def child_filter() -> Any:
    """What a run may not do on top of the zygote's filter: start processes, exec, change ids."""
    import pyseccomp as sc

    f = sc.SyscallFilter(sc.ALLOW)
    _deny(f, _CHILD_DENIED, errno.EPERM)
    _deny(f, ("fork", "vfork"), errno.EAGAIN)
    f.add_rule(sc.ERRNO(errno.EAGAIN), "clone", sc.Arg(0, sc.MASKED_EQ, _CLONE_THREAD, 0))
    # clone3 passes its flags in memory a filter cannot read; ENOSYS makes libc fall back to clone
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    return f


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class Compiled:
    """A filter compiled to BPF once, to install in many forked children."""

    def __init__(self, f: Any) -> None:
        with os.fdopen(os.memfd_create("splice-seccomp"), "w+b") as out:
            f.export_bpf(out)
            out.seek(0)
            program = out.read()
        self._program = ctypes.create_string_buffer(program, len(program))
        self._fprog = _SockFprog(len(program) // 8, ctypes.addressof(self._program))

    def load(self) -> None:
        _libc.set_seccomp_filter(ctypes.addressof(self._fprog))


def _deny(f: Any, names: tuple[str, ...], code: int) -> None:
    import pyseccomp as sc

    for name in names:
        with contextlib.suppress(OSError, ValueError):  # a call this architecture does not have
            f.add_rule(sc.ERRNO(code), name)
