"""Applying the sandbox: the zygote confines itself once, each run's child narrows it further.

Order matters and is the same in :func:`~splice._sandbox._probe.probe`, which tries it all
in a throwaway process first:

zygote (once, before it imports the project):
    network + mount namespaces → filesystem view → Landlock (read the view, write scratch)
    → the rlimits every run shares (open files, processes, file size) → an empty environment
    → seccomp (no sockets, mounts, ptrace, ...)
child (each run, before user code):
    its own rlimits (memory, CPU time) → Landlock (the paths opened once by the zygote, plus its own scratch; as root,
    since opening may need it) → close inherited files (those paths too) → drop to the
    sandbox uid → seccomp (no processes, exec; compiled once by the zygote) → a clean
    environment whose ``TMPDIR`` and ``HOME`` are the scratch directory.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass

from splice._sandbox import _landlock, _limits, _namespaces, _seccomp
from splice._sandbox._paths import RunPaths
from splice._sandbox._settings import Settings

_RUN_NAME = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True, slots=True)
class Granted:
    """Which protections to apply, as the probe found them."""

    namespaces: bool = False
    view: bool = False
    landlock_abi: int = 0
    seccomp: bool = False
    rlimits: bool = False
    drop_uid: bool = False


class Confinement:
    """What one zygote applies, to itself and to each child it forks."""

    def __init__(self, settings: Settings, paths: RunPaths, base: str, granted: Granted) -> None:
        self.settings = settings
        self.paths = paths
        self.base = base
        self.granted = granted
        self.scratch_root = os.path.join(base, "scratch")
        self._child_filter: _seccomp.Compiled | None = None
        self._child_rules: _landlock.Prepared | None = None
        self._counter = 0

    @property
    def hardened(self) -> bool:
        return self.settings.mode != "off"

    # --- the zygote ----------------------------------------------------------------------

    def confine_zygote(self) -> None:
        """Apply the zygote-wide protections to this process; children inherit them."""
        g = self.granted
        if self.hardened and g.seccomp:
            zygote_filter = _seccomp.zygote_filter()
            self._child_filter = _seccomp.Compiled(_seccomp.child_filter())
        if self.hardened and g.namespaces:
            _namespaces.unshare_network_and_mount()
        if self.hardened and g.view:
            _namespaces.build_view(self.base, self.paths, self.scratch_root, self.settings.scratch_mb)
        else:
            os.makedirs(self.scratch_root, mode=0o711, exist_ok=True)
            os.chmod(self.base, 0o711)
        if self.hardened and g.landlock_abi:
            _landlock.restrict(self.zygote_rules(), g.landlock_abi)
            self._child_rules = _landlock.prepare(self.rules(None), g.landlock_abi)
        if self.hardened and g.rlimits:
            s = self.settings
            _limits.apply_rlimits(_limits.Limits(0, 0, s.open_files, s.processes, s.file_size_bytes))
        if self.hardened:
            _clear_environment()
        if self.hardened and g.seccomp:
            zygote_filter.load()

    def zygote_rules(self) -> _landlock.FileRules:
        return self.rules(self.scratch_root)

    def rules(self, writable: str | None) -> _landlock.FileRules:
        """Read the run paths, write beneath ``writable`` only."""
        p = self.paths
        write = (writable,) if writable else ()
        return _landlock.FileRules(read=p.read, write=write, devices=p.devices, listable=p.listable)

    def new_scratch(self, run_id: str) -> str:
        """A fresh, empty directory for one run, owned by the uid the run will have."""
        self._counter += 1
        path = os.path.join(self.scratch_root, f"{_RUN_NAME.sub('_', run_id)[:80]}-{self._counter}")
        os.mkdir(path, 0o700)
        if self.hardened and self.granted.drop_uid:
            os.chown(path, self.settings.uid, self.settings.gid)
        return path

    def remove_scratch(self, path: str) -> None:
        try:
            os.rmdir(path)  # most runs leave it empty
        except OSError:
            shutil.rmtree(path, ignore_errors=True)

    # --- a run's child -------------------------------------------------------------------

    def enter_child(self, scratch: str, keep_fd: int) -> None:
        """Everything between ``fork()`` and the run's arrival, in the forked child (a spare
        waiting for its run: see the zygote); :meth:`limit_run` follows once the run is known."""
        s, g = self.settings, self.granted
        if not self.hardened:
            os.chdir(scratch)
            return
        if self._child_rules is not None:
            self._child_rules.restrict(write=scratch)
        _close_inherited(keep_fd)
        if g.drop_uid:
            _limits.drop_privileges(s.uid, s.gid)
        if self._child_filter is not None:
            self._child_filter.load()
        _enter_scratch(scratch)

    def limit_run(self, memory_bytes: int, cpu_seconds: int) -> None:
        """The run's own memory and CPU-time limits (the others are set on the zygote once, and
        inherited). Lowering a limit needs no privilege, so this works after the uid switch."""
        if not self.hardened or self.granted.rlimits:
            _limits.apply_rlimits(_limits.Limits(memory_bytes=memory_bytes, cpu_seconds=cpu_seconds))


def _close_inherited(keep_fd: int) -> None:
    """Only the run's socket survives; stdin, stdout and stderr point at /dev/null, so a run
    cannot write to the worker's terminal or log file (its prints become log lines anyway)."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        if fd != keep_fd:
            os.dup2(null, fd)
    os.closerange(3, keep_fd)
    os.closerange(max(keep_fd + 1, 3), 65536)


def _clear_environment() -> None:
    """The zygote keeps no inherited variable (before it imports the project), so no run sees one."""
    for name in list(os.environ):  # not environ.clear(): it rebuilds the key list per item
        del os.environ[name]
    os.environ["LANG"] = "C.UTF-8"


def _enter_scratch(scratch: str) -> None:
    os.environ["TMPDIR"] = os.environ["HOME"] = scratch
    tempfile.tempdir = scratch
    os.chdir(scratch)
