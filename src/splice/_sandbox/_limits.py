"""Resource limits and the switch to an unprivileged uid, applied in each run's child.

The wall clock is not here: the parent kills the run's whole process group when its time
limit passes. ``RLIMIT_NPROC`` counts every process and thread of the run's uid on the host
(runs share one uid), so it is a backstop against a fork bomb, not a budget; the child's
seccomp filter is what refuses new processes outright.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """One run's rlimits; ``0`` leaves a limit as inherited."""

    memory_bytes: int = 0
    cpu_seconds: int = 0
    open_files: int = 0
    processes: int = 0
    file_size_bytes: int = 0


def apply_rlimits(limits: Limits) -> None:
    """Set each limit as soft and hard, so the script cannot raise it again; never dump core."""
    pairs = (
        (resource.RLIMIT_AS, limits.memory_bytes, 0),
        (resource.RLIMIT_CPU, limits.cpu_seconds, 1),  # hard one second later: SIGXCPU, then SIGKILL
        (resource.RLIMIT_NOFILE, limits.open_files, 0),
        (resource.RLIMIT_NPROC, limits.processes, 0),
        (resource.RLIMIT_FSIZE, limits.file_size_bytes, 0),
    )
    for which, value, grace in pairs:
        if value:
            resource.setrlimit(which, (value, value + grace))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def drop_privileges(uid: int, gid: int) -> None:
    """Become ``uid``/``gid`` with no supplementary groups, for good (real, effective and saved)."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


def can_drop_privileges() -> bool:
    """Only root can switch uid; a worker that is not root already runs scripts unprivileged."""
    return os.geteuid() == 0
