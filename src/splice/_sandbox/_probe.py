"""Which protections this host grants, found by trying each in a throwaway process.

Kernels, containers and distributions differ: an unprivileged container refuses namespaces,
an old kernel has no Landlock, a slim image lacks libseccomp. Reading ``/proc`` or kernel
versions would guess; :func:`probe` instead forks a process that applies the zygote's
protections to itself, then forks a grandchild that applies a run's, checks that the result
still works (Python readable, scratch writable, sockets refused) and reports. The zygote
probes once when it starts, and applies exactly what was granted; ``splice doctor`` shows
the same report.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sysconfig
import time
from dataclasses import dataclass, replace
from typing import Any

import orjson

from splice._sandbox import _landlock, _limits, _namespaces, _seccomp
from splice._sandbox._confine import Confinement, Granted
from splice._sandbox._paths import RunPaths
from splice._sandbox._settings import Settings
from splice.errors import SpliceError

NETWORK = "network namespace"
VIEW = "filesystem view"
LANDLOCK = "landlock"
SECCOMP = "seccomp"
RLIMITS = "rlimits"
UID = "uid drop"
ORDER = (NETWORK, VIEW, LANDLOCK, SECCOMP, RLIMITS, UID)

_NAMESPACES_FIX = (
    "run the worker as root, or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)"
)
#: name → (what it gives, what covers for it when it is missing, how to get it)
_ABOUT = {
    NETWORK: (
        "no network at all: the socketpair to the parent is a run's only channel",
        "seccomp refuses new sockets and Landlock refuses TCP, where granted",
        _NAMESPACES_FIX,
    ),
    VIEW: (
        "a mount namespace holding only Python, the project's package and a size-limited scratch tmpfs",
        "Landlock limits reading to the same paths; scratch directories live on disk",
        _NAMESPACES_FIX,
    ),
    LANDLOCK: (
        "files: read what the view holds, write only the run's scratch; no TCP; no signals outside the run",
        "the read-only filesystem view holds, but runs could read each other's scratch directories",
        "use Linux 5.13 or later with Landlock enabled (CONFIG_SECURITY_LANDLOCK=y, 'landlock' in lsm=)",
    ),
    SECCOMP: (
        "no new sockets, processes, exec, ptrace, mounts, namespaces or io_uring",
        "the network namespace and Landlock still keep the network out; RLIMIT_NPROC bounds processes",
        "install libseccomp (apt-get install libseccomp2)",
    ),
    RLIMITS: (
        "address space, CPU time, open files, processes and file size are limited",
        "only the wall-clock time limit holds",
        "allow setrlimit in the worker's environment",
    ),
    UID: (
        "each run switches to the sandbox uid with no groups",
        "runs keep the worker's uid; Landlock scoping (ABI 6+) still stops their signals to it",
        "run the worker as root (it switches each run to [runtime] sandbox_uid)",
    ),
}


@dataclass(frozen=True, slots=True)
class Protection:
    """One protection: granted or not, what it gives (or why it is missing), its fallback and fix."""

    name: str
    granted: bool
    detail: str
    fallback: str = ""
    fix: str = ""


@dataclass(frozen=True, slots=True)
class Protections:
    """The probe's report, in :data:`ORDER`."""

    mode: str
    items: tuple[Protection, ...]
    landlock_abi: int = 0

    def granted(self, name: str) -> bool:
        return any(p.name == name and p.granted for p in self.items)

    @property
    def missing(self) -> list[Protection]:
        return [p for p in self.items if not p.granted]

    def as_granted(self) -> Granted:
        ok = self.granted
        return Granted(
            namespaces=ok(NETWORK),
            view=ok(VIEW),
            landlock_abi=self.landlock_abi if ok(LANDLOCK) else 0,
            seccomp=ok(SECCOMP),
            rlimits=ok(RLIMITS),
            drop_uid=ok(UID),
        )

    def summary(self) -> str:
        """One line for the log: what runs get, and what is missing."""
        if self.mode == "off":
            return 'script sandbox is off (sandbox = "off"): runs are forked children without hardening'
        granted = ", ".join(p.name for p in self.items if p.granted) or "nothing"
        missing = "; ".join(f"{p.name} ({p.detail}; fallback: {p.fallback})" for p in self.missing)
        return f"script sandbox ({self.mode}): {granted}" + (f"; missing: {missing}" if missing else "")

    def require_all(self) -> None:
        """Raise ``SANDBOX_UNAVAILABLE`` naming every missing protection and its fix (strict mode)."""
        missing = self.missing
        if not missing:
            return
        names = ", ".join(f"{p.name} ({p.detail})" for p in missing)
        fixes = "; ".join(dict.fromkeys(p.fix for p in missing if p.fix))
        raise SpliceError(
            f'sandbox = "strict" but this host does not grant: {names}',
            code="SANDBOX_UNAVAILABLE",
            details={"missing": [p.name for p in missing]},
            hint=f'{fixes}; or set sandbox = "auto" in [runtime] of splice.toml. `splice doctor` shows the report',
        )

    def to_dict(self) -> dict[str, Any]:
        items = [
            {"name": p.name, "granted": p.granted, "detail": p.detail, "fallback": p.fallback, "fix": p.fix}
            for p in self.items
        ]
        return {"mode": self.mode, "landlock_abi": self.landlock_abi, "items": items}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Protections:
        items = tuple(Protection(**item) for item in data.get("items") or [])
        return cls(mode=str(data.get("mode")), items=items, landlock_abi=int(data.get("landlock_abi") or 0))


def switched_off() -> Protections:
    """The report for ``sandbox = "off"``: nothing is tried or applied."""
    items = tuple(Protection(name, False, 'not applied: sandbox = "off"') for name in ORDER)
    return Protections(mode="off", items=items)


def probe(settings: Settings, paths: RunPaths, base: str, timeout: float = 20.0) -> Protections:
    """Try every protection in a throwaway child (see the module docstring).

    ``base`` is an empty directory owned by this process's user: the trial mounts its
    filesystem view there (in its own mount namespace, so nothing shows outside it).
    """
    if settings.mode == "off":
        return switched_off()
    _seccomp.available()  # import libseccomp here: its loader runs ldconfig, which a trial could not
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.write(w, orjson.dumps(_trial(settings, paths, base)))
        finally:
            os._exit(0)
    os.close(w)
    data = _read_all(r, pid, timeout)
    results = orjson.loads(data) if data else {}
    return _report(settings, results)


def _read_all(fd: int, pid: int, timeout: float) -> bytes:
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
        if deadline <= time.monotonic():
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return b"".join(chunks)


def _trial(settings: Settings, paths: RunPaths, base: str) -> dict[str, list[Any]]:
    """In the throwaway child: the zygote's steps, then a grandchild for a run's."""
    results: dict[str, list[Any]] = {}
    conf = Confinement(settings, paths, base, Granted())
    _attempt(results, NETWORK, _network)
    if results[NETWORK][0]:
        _attempt(results, VIEW, lambda: _namespaces.build_view(base, paths, conf.scratch_root, settings.scratch_mb))
    else:
        results[VIEW] = [False, "needs the mount namespace, which was refused"]
    if not results[VIEW][0]:
        os.makedirs(conf.scratch_root, mode=0o711, exist_ok=True)
        os.chmod(base, 0o711)
    abi = _landlock.abi_version()
    if abi:
        _attempt(results, LANDLOCK, lambda: _landlock.restrict(conf.zygote_rules(), abi) or f"ABI {abi}")
    else:
        results[LANDLOCK] = [False, "the kernel has no Landlock, or it is disabled"]
    child_filter = None
    if _seccomp.available():
        child_filter = _seccomp.child_filter()
        _attempt(results, SECCOMP, lambda: _seccomp.zygote_filter().load())
    else:
        results[SECCOMP] = [False, "libseccomp is not installed"]
    granted = replace(Granted(), landlock_abi=abi if results[LANDLOCK][0] else 0, drop_uid=os.geteuid() == 0)
    conf = Confinement(settings, paths, base, granted)
    results.update(_in_grandchild(lambda: _run_steps(conf, child_filter if results[SECCOMP][0] else None)))
    results["abi"] = [True, abi]
    return results


def _network() -> str:
    names = _namespaces.unshare_network_and_mount()
    interfaces = [name for _, name in socket.if_nameindex() if name != "lo"]
    if interfaces:
        raise OSError(0, f"interfaces still visible: {', '.join(interfaces)}")
    return f"entered {', '.join(names)} namespaces"


def _run_steps(conf: Confinement, child_filter: Any) -> dict[str, list[Any]]:
    """A run's steps, each checked: what :meth:`Confinement.enter_child` and :meth:`~Confinement.limit_run` apply."""
    results: dict[str, list[Any]] = {}
    scratch = conf.new_scratch("probe")
    s = conf.settings
    limits = _limits.Limits(0, 60, s.open_files, s.processes, s.file_size_bytes)
    _attempt(results, RLIMITS, lambda: _limits.apply_rlimits(limits))
    if conf.granted.landlock_abi:
        _attempt(results, LANDLOCK, lambda: _landlock.restrict(conf.rules(scratch), conf.granted.landlock_abi) or "")
    if conf.granted.drop_uid:
        _attempt(results, UID, lambda: _drop_and_check(s.uid, s.gid, scratch))
    else:
        results[UID] = [False, f"not running as root: runs keep uid {os.geteuid()}"]
    if child_filter is not None:
        _attempt(results, SECCOMP, lambda: _seccomp_and_check(child_filter))
    return {name: value for name, value in results.items() if name != LANDLOCK or not value[0]}


def _drop_and_check(uid: int, gid: int, scratch: str) -> str:
    _limits.drop_privileges(uid, gid)
    stdlib = sysconfig.get_paths()["stdlib"]
    try:
        os.listdir(stdlib)
        with open(os.__file__, "rb"):
            pass
    except OSError as exc:
        raise OSError(exc.errno, f"uid {uid} cannot read Python at {stdlib}") from None
    with open(os.path.join(scratch, "probe"), "w") as f:
        f.write("ok")
    return f"runs as uid {uid}, gid {gid}, no groups"


def _seccomp_and_check(child_filter: Any) -> str:
    child_filter.load()
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
    except PermissionError:
        return "filters loaded"
    raise OSError(0, "the filter is loaded but socket() still works")


def _in_grandchild(steps: Any) -> dict[str, list[Any]]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.write(w, orjson.dumps(steps()))
        finally:
            os._exit(0)
    os.close(w)
    data = _read_all(r, pid, 10.0)
    return orjson.loads(data) if data else {RLIMITS: [False, "the trial run died"]}


def _attempt(results: dict[str, list[Any]], name: str, step: Any) -> None:
    try:
        results[name] = [True, step() or ""]
    except Exception as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        results[name] = [False, f"{type(exc).__name__}: {reason}"]


def _report(settings: Settings, results: dict[str, list[Any]]) -> Protections:
    abi = int((results.get("abi") or [False, 0])[1] or 0)
    items = []
    for name in ORDER:
        ok, detail = results.get(name) or [False, "the probe did not get this far"]
        gives, fallback, fix = _ABOUT[name]
        if name == LANDLOCK and ok:
            detail = f"ABI {abi}: {gives}"
        elif name == UID and ok:
            detail = f"{gives} ({settings.uid})"
        elif ok:
            detail = gives
        items.append(Protection(name, bool(ok), str(detail), "" if ok else fallback, "" if ok else fix))
    return Protections(mode=settings.mode, items=tuple(items), landlock_abi=abi)
