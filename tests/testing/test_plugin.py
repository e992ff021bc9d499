"""End to end as a user does it: ``splice run --record`` against the demo API, stop it, then ``pytest``
in the project with the plugin's ``splice_harness`` (by entry point, no conftest) passes offline."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ProjectFactory
from tests.testing.conftest import MODULES

from splice.demo.server import DemoAPI

TEST = """
async def test_create_contact(splice_harness):
    run = await splice_harness.run("acme.create_contact", fixture="fixtures/create_contact.json")
    assert run.output.email == "ada@example.com"


def test_fixture_loads(splice_fixture):
    assert splice_fixture("fixtures/create_contact.json").script == "acme.create_contact"
"""
PYPROJECT = '[tool.pytest.ini_options]\nasyncio_mode = "auto"\nasyncio_default_fixture_loop_scope = "function"\n'


def sh(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPLICE_")}
    return subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=120)


async def test_record_with_the_cli_then_pytest_replays_offline(make_project: ProjectFactory) -> None:
    root = make_project(MODULES)
    (root / "tests" / "fixtures").mkdir(parents=True)
    (root / "tests" / "test_acme.py").write_text(TEST)
    (root / "pyproject.toml").write_text(PYPROJECT)
    bin_dir = Path(sys.executable).parent
    api = DemoAPI(contacts=3)
    await api.start()
    try:
        added = await asyncio.to_thread(
            sh, root, str(bin_dir / "splice"), "connections", "add", "acme", "c1",
            "--credential", "api_key=demo-key", "--config", f"api_url={api.url}",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        recorded = await asyncio.to_thread(
            sh, root, str(bin_dir / "splice"), "run", "acme.create_contact", "-c", "c1",
            "--input", '{"email": "ada@example.com"}', "--record", "tests/fixtures/create_contact.json",
        )  # fmt: skip
        assert recorded.returncode == 0, recorded.stderr
        assert "recorded 1 exchanges" in recorded.stderr
    finally:
        await api.stop()
    assert b"demo-key" not in (root / "tests" / "fixtures" / "create_contact.json").read_bytes()
    for isolation in ("none", "process"):  # in-process by default; the sandboxed child on request
        result = await asyncio.to_thread(sh, root, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                         f"--splice-isolation={isolation}")  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert "2 passed" in result.stdout
    wrong = await asyncio.to_thread(sh, root, sys.executable, "-m", "pytest", "-q", "--splice-isolation=docker")
    assert wrong.returncode != 0
    assert "invalid choice: 'docker'" in wrong.stderr
