"""``Versions.follow``: the newest deployed version for new runs, driven directly with a source in memory.

In-process executors (``isolation="none"``), so no zygote: what is tested is which version a
run gets, when the source is asked, and what happens to a version that cannot be used.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.conftest import ProjectFactory
from tests.engine.test_reload import write_hot

from splice._runtime.versions import Versions
from splice.deploy import check_archive, pack, unpacked
from splice.project import load_project


@dataclass(frozen=True)
class Deployed:
    number: int
    digest: str


class Source:
    """Deployed versions in memory: ``deploy(root)`` adds one; counts how often it is asked."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self.archives: dict[int, bytes] = {}
        self.asked = 0
        self.broken: set[int] = set()

    def deploy(self, root: Path) -> int:
        number = len(self.archives) + 1
        self.archives[number] = pack(root, "integrations")
        return number

    async def newest(self) -> Deployed | None:
        self.asked += 1
        if not self.archives:
            return None
        number = max(self.archives)
        return Deployed(number, check_archive(self.archives[number]).digest)

    async def unpack(self, version: Deployed) -> Path:
        if version.number in self.broken:
            raise OSError("disk full")
        return unpacked(version.number, version.digest, self.archives[version.number], self.cache)


def hot(make_project: ProjectFactory, version: int, extra: str = "") -> Path:
    root = make_project({})
    write_hot(root, version, extra)
    return root


@pytest.fixture
async def versions(make_project: ProjectFactory) -> AsyncIterator[Versions]:
    found = Versions(load_project(hot(make_project, 0)), "none", interval=3600)
    yield found
    await found.close()


async def test_the_files_until_something_is_deployed_then_the_newest_version(
    versions: Versions, make_project: ProjectFactory, tmp_path: Path
) -> None:
    source = Source(tmp_path / "cache")
    assert (await versions.follow(source)).deployed is None
    source.deploy(hot(make_project, 1))
    current = await versions.refresh(max_age=0)
    assert (current.deployed, current.label) == (1, "deployed version 1")
    assert current.project.root.parent == tmp_path / "cache"
    asked = source.asked
    assert await versions.refresh() is current  # within the interval: the source is not asked
    assert source.asked == asked
    assert await versions.refresh(max_age=0) is current  # the same number: nothing loaded again


async def test_a_run_keeps_its_version_while_new_runs_get_the_next(
    versions: Versions, make_project: ProjectFactory, tmp_path: Path
) -> None:
    source = Source(tmp_path / "cache")
    source.deploy(hot(make_project, 1))
    first = await versions.follow(source)
    script = first.project.script("hot.held")
    async with versions.use(script) as (held, _):
        source.deploy(hot(make_project, 2))
        second = await versions.refresh(max_age=0)
        assert (held.deployed, second.deployed) == (1, 2)
        async with versions.use(second.project.script("hot.version")) as (used, _):
            assert used is second
        async with versions.use(script) as (still, _):  # a script of version 1 runs on version 1
            assert still is held
    assert versions._replaced == []  # version 1 retired once its last run ended


async def test_a_version_that_cannot_be_used_is_logged_once_and_skipped(
    versions: Versions, make_project: ProjectFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="splice")
    source = Source(tmp_path / "cache")
    source.deploy(hot(make_project, 1))
    await versions.follow(source)
    source.deploy(hot(make_project, 2, "\n\ndef broken(:\n    pass\n"))
    for _ in range(3):
        assert (await versions.refresh(max_age=0)).deployed == 1
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["deployed version 2 does not load"]
    source.broken.add(3)
    source.deploy(hot(make_project, 3))
    assert (await versions.refresh(max_age=0)).deployed == 1
    assert "deployed version 3 cannot be unpacked: OSError: disk full" in caplog.records[-1].getMessage()
    source.deploy(hot(make_project, 4))
    assert (await versions.refresh(max_age=0)).deployed == 4
