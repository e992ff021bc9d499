"""What a run may read: the Python installation, its import path, the project's package.

Everything else stays out of reach, in particular the project's ``.splice/`` folder (the
SQLite database, ``secret.key``) and any folder that holds the database: an import-path
entry that contains one of those (the project root itself, when it is on ``sys.path``) is
left out, and the project contributes only its package and ``splice.toml``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_SYSTEM_DIRS = ("/usr",)
_SYSTEM_LINKABLE = ("/lib", "/lib64", "/lib32", "/libx32")
_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime")
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")


@dataclass(frozen=True, slots=True)
class RunPaths:
    """``read``: real paths, none beneath another; ``listable``: folders whose entries may be
    listed but not read (the project root: Python's importer lists it to find the package);
    ``links``: top-level symlinks such as ``/lib -> usr/lib`` to recreate in a filesystem view."""

    read: tuple[str, ...]
    listable: tuple[str, ...] = ()
    links: tuple[tuple[str, str], ...] = ()
    devices: tuple[str, ...] = DEVICES


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///path`` URL; None for other databases."""
    if not url.startswith("sqlite") or ":///" not in url:
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0]
    return Path(path).resolve() if path and path != ":memory:" else None


def run_paths(project_root: Path | None, package: str | None, hidden: Iterable[Path] = ()) -> RunPaths:
    """The paths a run may read, for a project at ``project_root`` (None: no project)."""
    secret = [Path(p).resolve() for p in hidden]
    if project_root is not None:
        secret.append(project_root.resolve())
    candidates: list[str] = []
    listable: tuple[str, ...] = ()
    links: list[tuple[str, str]] = []
    for path in _SYSTEM_LINKABLE:
        if os.path.islink(path):
            links.append((path, os.readlink(path)))
        elif os.path.isdir(path):
            candidates.append(path)
    candidates += [*_SYSTEM_DIRS, *_SYSTEM_FILES]
    for entry in sys.path:
        if entry and os.path.exists(entry) and not _contains_any(Path(entry).resolve(), secret):
            candidates.append(entry)
    if project_root is not None and package:
        candidates += [str(project_root / package), str(project_root / "splice.toml")]
        listable = (os.path.realpath(project_root),)
    return RunPaths(read=_outermost(candidates), listable=listable, links=tuple(links))


def _contains_any(entry: Path, secret: list[Path]) -> bool:
    return entry == Path("/") or any(s.is_relative_to(entry) for s in secret)


def _outermost(paths: Iterable[str]) -> tuple[str, ...]:
    """Real paths, existing, without duplicates or paths beneath another in the list."""
    real = sorted({os.path.realpath(p) for p in paths if os.path.exists(p)}, key=lambda p: (len(p), p))
    kept: list[str] = []
    for path in real:
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return tuple(sorted(kept))
