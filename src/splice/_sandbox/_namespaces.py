"""Namespaces the zygote enters once, so every run it forks starts inside them.

* **network**: an empty network namespace. Not even loopback is up, so nothing on the host
  (the demo API, a database on 127.0.0.1, cloud metadata) can be reached; the socketpair a
  run inherits from its parent keeps working, sockets do not belong to a namespace.
* **mount**: a filesystem *view* built on a tmpfs and entered with ``pivot_root``: read-only
  binds of exactly the paths in :class:`~splice._sandbox._paths.RunPaths`, four devices, and
  a size-limited tmpfs for the runs' scratch directories. The database and the key file are
  not hidden there, they do not exist. The view also solves a practical problem: Python is
  often installed under ``/root`` (mode 0700) or the project lies in a private temp folder,
  which a run that dropped to ``nobody`` could not traverse; in the view each directory on
  the way is a fresh 0755 one.
* **user**: only when the worker is not root, to be allowed the other two.

Entered once per zygote rather than per run: each ``unshare`` of a network namespace costs
about a millisecond, which would be a sixth of a run's whole budget.
"""

from __future__ import annotations

import contextlib
import os

from splice._sandbox import _libc
from splice._sandbox._paths import RunPaths

_STATVFS_TO_MS = (
    (os.ST_NOSUID, _libc.MS_NOSUID),
    (os.ST_NODEV, _libc.MS_NODEV),
    (os.ST_NOEXEC, _libc.MS_NOEXEC),
    (os.ST_NOATIME, _libc.MS_NOATIME),
    (os.ST_NODIRATIME, _libc.MS_NODIRATIME),
    (os.ST_RELATIME, _libc.MS_RELATIME),
)


def unshare_network_and_mount() -> tuple[str, ...]:
    """Enter new network and mount namespaces (and a user one when not root); the names entered."""
    if os.geteuid() == 0:
        with contextlib.suppress(OSError):
            _libc.unshare(_libc.CLONE_NEWNET | _libc.CLONE_NEWNS)
            return ("network", "mount")
    uid, gid = os.geteuid(), os.getegid()
    _libc.unshare(_libc.CLONE_NEWUSER | _libc.CLONE_NEWNET | _libc.CLONE_NEWNS)
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    return ("user", "network", "mount")


def build_view(base: str, paths: RunPaths, scratch_root: str, scratch_mb: int) -> None:
    """Replace this mount namespace's root with a view on a tmpfs at ``base`` (see the module docstring).

    ``scratch_root`` is where the runs' scratch directories go, as seen inside the view.
    """
    _libc.mount(None, "/", None, _libc.MS_REC | _libc.MS_PRIVATE)
    _libc.mount("tmpfs", base, "tmpfs", _libc.MS_NOSUID | _libc.MS_NODEV, "mode=0755,size=16m")
    try:
        for path in paths.read:
            _bind(path, base + path, read_only=True)
        for device in paths.devices:
            _bind(device, base + device, read_only=False)
        for link, target in paths.links:
            os.symlink(target, base + link)
        scratch = base + scratch_root
        os.makedirs(scratch, mode=0o711)
        flags = _libc.MS_NOSUID | _libc.MS_NODEV | _libc.MS_NOEXEC
        _libc.mount("tmpfs", scratch, "tmpfs", flags, f"mode=0711,size={scratch_mb}m")
        os.chdir(base)
        os.mkdir(".old")
        _libc.pivot_root(".", ".old")
    except BaseException:
        with contextlib.suppress(OSError):
            _libc.umount2(base, _libc.MNT_DETACH)
        raise
    os.chdir("/")
    _libc.umount2("/.old", _libc.MNT_DETACH)
    os.rmdir("/.old")
    _libc.mount(None, "/", None, _libc.MS_REMOUNT | _libc.MS_BIND | _libc.MS_RDONLY | _libc.MS_NOSUID | _libc.MS_NODEV)


def _bind(source: str, target: str, *, read_only: bool) -> None:
    if not os.path.exists(source):
        return
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "a"):
            pass
    _libc.mount(source, target, None, _libc.MS_BIND | _libc.MS_REC)
    if read_only:
        # a remount must repeat the flags the original mount has (a user namespace may not drop them)
        kept = os.statvfs(source).f_flag
        flags = _libc.MS_BIND | _libc.MS_REMOUNT | _libc.MS_RDONLY | _libc.MS_NOSUID | _libc.MS_NODEV
        for st, ms in _STATVFS_TO_MS:
            if kept & st:
                flags |= ms
        _libc.mount(None, target, None, flags)


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)
