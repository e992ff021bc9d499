"""Fixtures every test folder may use: the demo API on 127.0.0.1 and throwaway projects."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from splice.demo.server import DemoAPI

SPLICE_TOML = """\
[project]
name = "test-project"

[runtime]
time_limit = 20
rate_limit_budget_interactive = 5
memory_limit_mb = 512
"""


@pytest.fixture
async def demo_api() -> AsyncIterator[DemoAPI]:
    """A fresh demo API (the fake third party) on a free port."""
    api = DemoAPI(contacts=120)
    await api.start()
    yield api
    await api.stop()


ProjectFactory = Callable[..., Path]


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    """Write a project: ``make_project({"acme.py": "..."}, toml=...)`` → its root."""
    counter = 0

    def make(modules: dict[str, str], toml: str = SPLICE_TOML) -> Path:
        nonlocal counter
        counter += 1
        root = tmp_path / f"project{counter}"
        package = root / "integrations"
        package.mkdir(parents=True)
        (root / "splice.toml").write_text(toml)
        (package / "__init__.py").write_text("")
        for name, source in modules.items():
            (package / name).write_text(textwrap.dedent(source))
        return root

    return make


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say in one line which database suites did not run, so a green run is not misread."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "PostgreSQL not reachable" in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(
            f"PostgreSQL suites skipped: {len(skipped)} tests (only SQLite was tested). "
            "Start PostgreSQL or set SPLICE_TEST_POSTGRES_URL; .ci/run does.",
            yellow=True,
        )
