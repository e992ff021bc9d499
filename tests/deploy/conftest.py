"""Fixtures of the deploy tests: real ``splice serve`` / ``splice worker`` processes with their own cache.

Every process gets ``SPLICE_CACHE_DIR`` under the test's folder, so unpacked versions never
land in the user's ``~/.cache``; the database fixture is the engine tests' (SQLite, and
PostgreSQL where it is reachable).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.cli._cli import clean_env
from tests.conftest import ProjectFactory
from tests.engine.conftest import Worker, database_url  # noqa: F401 - fixtures used by the tests here
from tests.engine.test_reload import write_hot

Start = Callable[..., Worker]


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def start(tmp_path: Path, cache: Path) -> Iterator[Start]:
    """``start(cwd, "serve" | "worker", **env)``: a process in ``cwd`` with ``env`` over a clean one."""
    started: list[Worker] = []

    def run(cwd: Path, command: str = "serve", worker_id: str = "w1", **env: str) -> Worker:
        environment = clean_env(SPLICE_CACHE_DIR=str(cache), **env)
        log = tmp_path / f"{command}-{worker_id}-{uuid.uuid4().hex[:6]}.log"
        worker = Worker(command, cwd, environment, worker_id, log)
        started.append(worker)
        return worker

    yield run
    for worker in started:
        worker.stop()


@pytest.fixture
def hot(make_project: ProjectFactory) -> Callable[[int], Path]:
    """``hot(n)``: a project whose ``hot.version`` action answers ``n`` (a new folder each time)."""

    def make(version: int) -> Path:
        root = make_project({})
        write_hot(root, version)
        return root

    return make


def copy_project(root: Path, to: Path) -> Path:
    shutil.copytree(root, to, ignore=shutil.ignore_patterns(".splice"))
    return to
