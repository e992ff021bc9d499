"""The deploy archive: the package and splice.toml only, the same bytes every time, nothing unsafe unpacked."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import time
from pathlib import Path

import pytest
from tests.conftest import ProjectFactory

from splice.deploy import check_archive, pack, project_files, unpack, unpacked
from splice.deploy._cache import KEEP_SECONDS, cached
from splice.errors import InvalidInput, ProjectError


def _tar(files: dict[str, bytes], *, links: dict[str, str] | None = None) -> bytes:
    """The same bytes at every call (gzip's header time is 0): pytest-xdist's workers must
    collect the same test ids from them."""
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return raw.getvalue()


def _project(make_project: ProjectFactory) -> Path:
    root = make_project({"acme.py": "X = 1\n"})
    (root / "integrations" / "sub").mkdir()
    (root / "integrations" / "sub" / "__init__.py").write_text("")
    (root / "integrations" / "sub" / "more.py").write_text("Y = 2\n")
    (root / ".splice").mkdir()
    (root / ".splice" / "secret.key").write_text("key")
    (root / ".env").write_text("TOKEN=x")
    (root / "integrations" / "__pycache__").mkdir()
    (root / "integrations" / "__pycache__" / "acme.cpython-311.pyc").write_bytes(b"\0")
    (root / "integrations" / ".hidden.py").write_text("")
    (root / "tests").mkdir()
    (root / "tests" / "test_acme.py").write_text("")
    return root


def test_only_splice_toml_and_the_package_go_in(make_project: ProjectFactory) -> None:
    root = _project(make_project)
    files = ["integrations/__init__.py", "integrations/acme.py", "integrations/sub/__init__.py",
             "integrations/sub/more.py", "splice.toml"]  # fmt: skip
    assert project_files(root, "integrations") == files
    info = check_archive(pack(root, "integrations"))
    assert sorted(info.files) == files
    assert info.package == "integrations"


def test_the_same_files_give_the_same_bytes(make_project: ProjectFactory) -> None:
    root = _project(make_project)
    first = pack(root, "integrations")
    later = time.time() + 100
    for path in root.rglob("*.py"):
        os.utime(path, (later, later))
    assert pack(root, "integrations") == first
    (root / "integrations" / "acme.py").write_text("X = 2\n")
    assert check_archive(pack(root, "integrations")).digest != check_archive(first).digest


def test_no_project_is_a_project_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"splice\.toml does not exist"):
        pack(tmp_path, "integrations")
    (tmp_path / "splice.toml").write_text("")
    with pytest.raises(ProjectError, match="is not a Python package"):
        pack(tmp_path, "integrations")


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"not an archive", "not a .tar.gz"),
        (gzip.compress(b"x" * 100, mtime=0), "not a .tar.gz"),
        (_tar({"integrations/__init__.py": b""}), "no splice.toml"),
        (_tar({"splice.toml": b"[project\n", "integrations/__init__.py": b""}), "not valid TOML"),
        (_tar({"splice.toml": b""}), "no package 'integrations'"),
        (_tar({"splice.toml": b"", "integrations/__init__.py": b"", "../evil.py": b""}), "unsafe path"),
        (_tar({"splice.toml": b"", "/etc/evil": b""}), "unsafe path"),
        (_tar({"splice.toml": b"", "integrations/__init__.py": b""}, links={"integrations/x.py": "/etc/passwd"}),
         "not a regular file"),
    ],
)  # fmt: skip
def test_a_malformed_archive_is_refused_by_name(data: bytes, why: str) -> None:
    with pytest.raises(InvalidInput, match=why) as caught:
        check_archive(data)
    assert caught.value.code == "INVALID_ARCHIVE"
    assert "POST /deploys" in (caught.value.hint_for("rest") or "")


def test_unpacked_once_into_a_folder_named_by_version_and_digest(make_project: ProjectFactory, tmp_path: Path) -> None:
    data = pack(_project(make_project), "integrations")
    digest = check_archive(data).digest
    folder = unpacked(3, digest, data, tmp_path / "cache")
    assert folder.name == f"3-{digest[:16]}"
    assert (folder / "integrations" / "sub" / "more.py").read_text() == "Y = 2\n"
    assert not (folder / ".splice").exists()
    assert unpacked(3, digest, b"ignored: already there", tmp_path / "cache") == folder
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [folder.name]  # no scratch folders left
    with pytest.raises(FileExistsError):
        unpack(data, folder)


def test_a_version_no_worker_loaded_for_longer_than_any_run_is_pruned(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    data = pack(_project(make_project), "integrations")
    digest = check_archive(data).digest
    root = tmp_path / "cache"
    old, used = unpacked(1, digest, data, root), unpacked(2, digest, data, root)
    long_ago = time.time() - KEEP_SECONDS - 60
    for folder in (old, used):
        os.utime(folder, (long_ago, long_ago))
    assert cached(2, digest, root) == used  # loaded again: kept from now on
    assert cached(9, digest, root) is None
    new = unpacked(3, digest, data, root)  # unpacking a version prunes the stale ones
    assert sorted(p.name for p in root.iterdir()) == sorted([used.name, new.name])
