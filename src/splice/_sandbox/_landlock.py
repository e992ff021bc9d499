"""Landlock: which files a process may read and write, whom it may reach over TCP or signal.

A ruleset lists what is allowed beneath some paths; once applied, everything else of the
kinds it handles is refused for this process and every process it starts, even for root,
and it cannot be lifted. Rulesets stack: the zygote applies one to itself, each run's child
applies a narrower one (its own scratch directory only), so one run never sees another's.
The syscalls are ours (see ``_libc``); the access bits are the kernel's
(``include/uapi/linux/landlock.h``), grouped by the ABI version that added them.
"""

from __future__ import annotations

import ctypes
import os
import stat
from dataclasses import dataclass

from splice._sandbox import _libc

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

_FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
_READ = READ_FILE | READ_DIR
_WRITE = _READ | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_SYM | MAKE_FIFO | REFER | TRUNCATE
_DEVICE = READ_FILE | WRITE_FILE


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is missing or disabled."""
    try:
        return _libc.syscall(_libc.SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except OSError:
        return 0


def handled_fs(abi: int) -> int:
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


@dataclass(frozen=True, slots=True)
class FileRules:
    """Paths beneath which reading (``read``), listing folders only (``listable``), everything
    but executing (``write``), or reading and writing an existing device (``devices``, e.g.
    ``/dev/null``) stays allowed."""

    read: tuple[str, ...]
    write: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    listable: tuple[str, ...] = ()


def restrict(rules: FileRules, abi: int) -> None:
    """Confine the calling process (and its future children) to ``rules``; no TCP at all
    (ABI 4+), no signals or abstract unix sockets outside its own domain (ABI 6+)."""
    prepared = prepare(rules, abi)
    try:
        prepared.restrict()
    finally:
        prepared.close()


def prepare(rules: FileRules, abi: int) -> Prepared:
    """Open every path of ``rules`` now; :meth:`Prepared.restrict` then only makes the syscalls.

    The zygote prepares a run's read rules once; each child adds its scratch directory and
    applies them, saving an ``open`` and an ``fstat`` per path per run.
    """
    fs = handled_fs(abi)
    opened: list[_PathBeneath] = []
    groups = ((rules.read, _READ), (rules.write, _WRITE), (rules.devices, _DEVICE), (rules.listable, READ_DIR))
    for paths, access in groups:
        for path in paths:
            rule = _open(path, access & fs)
            if rule is not None:
                opened.append(rule)
    attr = _RulesetAttr(fs, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0, 0)
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
    return Prepared(abi, attr, tuple(opened))


@dataclass(frozen=True, slots=True)
class Prepared:
    """The ruleset's attributes and one rule per open ``O_PATH`` descriptor, ready to apply."""

    abi: int
    attr: _RulesetAttr
    rules: tuple[_PathBeneath, ...]

    def restrict(self, write: str | None = None) -> None:
        """Apply these rules plus full (non-executing) access beneath ``write``, for good."""
        size = 8 if self.abi < 4 else 16 if self.abi < 6 else 24
        ruleset = _libc.syscall(
            _libc.SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(self.attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
        )
        extra = _open(write, _WRITE & handled_fs(self.abi)) if write is not None else None
        try:
            for rule in (*self.rules, *([extra] if extra else [])):
                _libc.syscall(_libc.SYS_LANDLOCK_ADD_RULE, ruleset, 1, ctypes.byref(rule), 0)
            _libc.prctl(_libc.PR_SET_NO_NEW_PRIVS, 1)
            _libc.syscall(_libc.SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0)
        finally:
            os.close(ruleset)
            if extra is not None:
                os.close(extra.parent_fd)

    def close(self) -> None:
        for rule in self.rules:
            os.close(rule.parent_fd)


def _open(path: str, access: int) -> _PathBeneath | None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(os.fstat(fd).st_mode):
        access &= _FILE_ONLY
    return _PathBeneath(access, fd)
