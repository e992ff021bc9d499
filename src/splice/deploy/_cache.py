"""Where a worker keeps deployed versions unpacked: one folder per version, reused across restarts.

``$SPLICE_CACHE_DIR/versions``, else ``$XDG_CACHE_HOME/splice/versions``, else
``~/.cache/splice/versions``. A version's folder is ``<number>-<digest>``: named by what it
holds, so a folder found there is the version (a rollback to the same code gets its own
number, and its own folder). A version is unpacked into a temporary folder and renamed into
place, so a worker that dies mid-way leaves no half-written version for the next to load.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

CACHE_ENV = "SPLICE_CACHE_DIR"


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

    target = version_dir(number, digest, root)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
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


def is_cached(number: int, digest: str, root: Path | None = None) -> bool:
    return version_dir(number, digest, root).is_dir()
