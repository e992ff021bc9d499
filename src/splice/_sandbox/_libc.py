"""Thin ctypes calls for the system calls Python 3.11 does not expose.

Why our own: ``os.unshare`` arrives in Python 3.12; ``mount``, ``umount2``, ``pivot_root``,
the three Landlock calls and installing a compiled seccomp program are in no standard module.
The one Landlock package on PyPI (``landlock`` 1.0.0.dev5, a pre-release) judges success by
ctypes' saved ``errno`` instead of the return value, so a stale errno from any earlier ctypes
call makes a successful call raise (reproduced), and it knows neither Landlock's network rules
(ABI 4) nor its signal and abstract-socket scoping (ABI 6). Each wrapper here checks the return value and raises
``OSError`` with the errno, as the ``os`` module does.
"""

from __future__ import annotations

import ctypes
import os
import platform

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
_libc.unshare.argtypes = (ctypes.c_int,)
_libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_RELATIME = 0x200000
MNT_DETACH = 0x2

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

#: pivot_root has no libc wrapper; its number differs by architecture
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(platform.machine())
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _path(value: str | None) -> bytes | None:
    return os.fsencode(value) if value is not None else None


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(_path(source), _path(target), _path(fstype), flags, _path(data)), f"mount {target}")


def umount2(target: str, flags: int) -> None:
    _check(_libc.umount2(_path(target), flags), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    if _SYS_PIVOT_ROOT is None:
        raise OSError(38, f"pivot_root: unknown syscall number on {platform.machine()}")
    result = _libc.syscall(_SYS_PIVOT_ROOT, ctypes.c_char_p(_path(new_root)), ctypes.c_char_p(_path(put_old)))
    _check(result, "pivot_root")


def prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, value, 0, 0, 0), f"prctl {option}")


def set_seccomp_filter(fprog_address: int) -> None:
    """Install a compiled BPF filter (a ``struct sock_fprog`` at that address) on this thread."""
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog_address, 0, 0), "prctl seccomp")


def syscall(number: int, *args: object) -> int:
    """A raw system call (the Landlock ones); raises ``OSError`` on failure."""
    return _check(_libc.syscall(number, *args), f"syscall {number}")
