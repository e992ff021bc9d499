"""A project as one deterministic ``.tar.gz``: what ``splice deploy`` uploads and workers unpack.

Only ``splice.toml`` and the package's files go in: no ``.splice/`` (the database, the key
file), no hidden files or folders (``.env``, ``.git``), no ``__pycache__`` or ``.pyc``. Entries
are sorted, with no times, owners or modes of the machine that packed them, so the same files
give the same bytes and the same digest on every machine: deploying unchanged code is
recognisable, and a worker's cache folder is named by what it holds.

Unpacking trusts nothing in the archive: only regular files and folders, relative paths
without ``..``, a bounded count and size, and ``splice.toml`` at the top
(:func:`check_archive`), so a malformed upload is refused before it is stored.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from splice.config import CONFIG_FILE
from splice.errors import InvalidInput, ProjectError

#: files an archive may hold, and their size once unpacked
MAX_FILES = 5000
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True, slots=True)
class ArchiveInfo:
    """What :func:`check_archive` found: the digest (sha256 hex) and the files it holds."""

    digest: str
    size: int
    files: tuple[str, ...]
    package: str


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def project_files(root: Path, package: str) -> list[str]:
    """``splice.toml`` and the package's files, as sorted POSIX paths relative to ``root``."""
    if not (root / CONFIG_FILE).is_file():
        raise ProjectError(f"{root / CONFIG_FILE} does not exist", hint="deploy from a splice project folder")
    if not (root / package / "__init__.py").is_file():
        raise ProjectError(f"{root / package} is not a Python package", hint=f"create {package}/__init__.py")
    found = [CONFIG_FILE]
    for folder, dirs, files in os.walk(root / package):
        dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith(".")]
        for name in files:
            if not name.startswith(".") and not name.endswith(_SKIPPED_SUFFIXES):
                found.append((Path(folder) / name).relative_to(root).as_posix())
    return sorted(found)


def pack(root: Path, package: str) -> bytes:
    """The project at ``root`` as a deterministic ``.tar.gz`` (see the module docstring)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in project_files(root, package):
            data = (root / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(
        f"the deploy archive is not a splice project: {message}",
        code="INVALID_ARCHIVE",
        hint="upload the project with `splice deploy`, which packs it as the server expects",
        hints={"rest": "POST /deploys takes the .tar.gz `splice deploy` packs: splice.toml and the package"},
    )


def _members(data: bytes) -> list[tarfile.TarInfo]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members = []
            for member in tar:
                members.append(member)
                if len(members) > MAX_FILES:
                    raise _invalid(f"it holds more than {MAX_FILES} files")
            return members
    except (tarfile.TarError, EOFError, OSError, gzip.BadGzipFile) as exc:
        raise _invalid(f"not a .tar.gz ({exc})") from None


def _check_member(member: tarfile.TarInfo) -> None:
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts or not member.name or "\\" in member.name:
        raise _invalid(f"unsafe path {member.name!r}")
    if not (member.isfile() or member.isdir()):
        raise _invalid(f"{member.name!r} is not a regular file or folder")


def check_archive(data: bytes) -> ArchiveInfo:
    """What ``data`` holds, or :class:`InvalidInput` (``INVALID_ARCHIVE``) when it is not a project."""
    members = _members(data)
    for member in members:
        _check_member(member)
    if sum(m.size for m in members) > MAX_UNPACKED_BYTES:
        raise _invalid(f"it unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MB")
    files = tuple(m.name for m in members if m.isfile())
    if CONFIG_FILE not in files:
        raise _invalid(f"no {CONFIG_FILE} at its top")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        config = tar.extractfile(CONFIG_FILE)
        assert config is not None  # a regular file, checked above
        try:
            raw = tomllib.loads(config.read().decode())
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise _invalid(f"its {CONFIG_FILE} is not valid TOML ({exc})") from None
    section = raw.get("project", {})
    package = section.get("package", "integrations") if isinstance(section, dict) else None
    if not isinstance(package, str) or f"{package}/__init__.py" not in files:
        raise _invalid(f"no package {package!r} (with __init__.py) beside {CONFIG_FILE}")
    return ArchiveInfo(digest_of(data), len(data), files, package)


def unpack(data: bytes, dest: Path) -> None:
    """Write the archive's files below ``dest`` (which must not exist yet), after checking it."""
    check_archive(data)
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")
