"""The pytest plugin (entry point ``pytest11``): ``splice_harness``, ``splice_fixture``, ``--splice-record``.

Installed with splice, so a project's tests need no conftest: ``splice_harness`` runs the
project around the test (the nearest ``splice.toml`` above the test file, else pytest's
rootdir) and reads relative fixture paths from the test file's folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from splice.config import CONFIG_FILE
from splice.testing._format import Fixture, load_fixture
from splice.testing._harness import Harness


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("splice")
    group.addoption(
        "--splice-record",
        action="store_true",
        default=False,
        help="splice: run scripts against the live API and record their fixtures again before replaying them",
    )
    group.addoption(
        "--splice-isolation",
        choices=("none", "process"),
        default="none",
        help="splice: replay scripts in-process (none, the default: fast) or in the sandboxed child (process)",
    )
    group.addoption(
        "--splice-strict",
        action="store_true",
        default=False,
        help="splice: fail a test whose fixture holds a request the script never made",
    )


def _project_root(start: Path, rootdir: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return rootdir


@pytest.fixture
def splice_harness(request: pytest.FixtureRequest) -> Harness:
    """A :class:`~splice.testing.Harness` for the project around the test file."""
    here = Path(str(request.path)).parent
    return Harness(
        _project_root(here, Path(str(request.config.rootpath))),
        record=bool(request.config.getoption("--splice-record")),
        strict=bool(request.config.getoption("--splice-strict")),
        isolation=str(request.config.getoption("--splice-isolation")),
        base=here,
    )


@pytest.fixture
def splice_fixture(request: pytest.FixtureRequest) -> Callable[[str | Path], Fixture]:
    """Load a fixture file (relative to the test file): ``splice_fixture("fixtures/x.json").output``."""
    here = Path(str(request.path)).parent

    def load(path: str | Path) -> Fixture:
        return load_fixture(Path(path) if Path(path).is_absolute() else here / path)

    return load
