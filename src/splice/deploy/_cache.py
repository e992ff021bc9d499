"""Where a worker keeps deployed versions unpacked: one folder per version, reused across restarts.

``$SPLICE_CACHE_DIR/versions``, else ``$XDG_CACHE_HOME/splice/versions``, else
``~/.cache/splice/versions``. A version's folder is ``<number>-<digest>``: named by what it
holds, so a folder found there is the version (a rollback to the same code gets its own
number, and its own folder). A version is unpacked into a temporary folder and renamed into
place, so a worker that dies mid-way leaves no half-written version for the next to load.

Old versions are removed once no run can still use them (:func:`prune`): a folder's time is
set whenever a worker loads it, and one untouched for longer than the longest run allowed
(a sync's time limit is at most 7 days) plus a day is gone when a later version is unpacked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

CACHE_ENV = "SPLICE_CACHE_DIR"
#: seconds after its last load that an unpacked version is removed (the longest run, plus a day)
KEEP_SECONDS = 8 * 86400


def cache_root() -> Path:
    """The folder holding the unpacked versions (created on first use)."""
    base = os.environ.get(CACHE_ENV)
    if base:
        return Path(base).expanduser().resolve() / "versions"
    xdg = os.environ.get("XDG_CACHE_HOME")
    home = Path(xdg) if xdg else Path.home() / ".cache"
    return home.expanduser().resolve() / "splice" / "versions"


def version_dir(number: int, digest: str, root: Path | None = None) -> Path:
    return (root or cache_root()) / f"{number}-{digest[:16]}"


def unpacked(number: int, digest: str, data: bytes, root: Path | None = None) -> Path:
    """The folder holding version ``number`` unpacked, unpacking ``data`` there if it is not yet."""
    from splice.deploy._archive import unpack

    found = cached(number, digest, root)
    if found is not None:
        return found
    target = version_dir(number, digest, root)
    target.parent.mkdir(parents=True, exist_ok=True)
    prune(target.parent)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        unpack(data, scratch / "project")
        try:
            (scratch / "project").rename(target)
        except OSError:  # another worker on this machine unpacked it first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def cached(number: int, digest: str, root: Path | None = None) -> Path | None:
    """Version ``number``'s folder when it is unpacked already (marked as in use), else None."""
    target = version_dir(number, digest, root)
    if not target.is_dir():
        return None
    with contextlib.suppress(OSError):
        os.utime(target)  # in use again: not pruned for another KEEP_SECONDS
    return target


def prune(folder: Path, keep_seconds: float = KEEP_SECONDS) -> list[Path]:
    """Remove the versions under ``folder`` no worker has loaded for ``keep_seconds``; the removed ones."""
    cutoff = time.time() - keep_seconds
    removed = []
    for entry in folder.iterdir():
        with contextlib.suppress(OSError):
            if entry.is_dir() and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry)
                removed.append(entry)
    return removed
