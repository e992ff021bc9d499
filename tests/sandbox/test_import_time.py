"""Modules that try to escape while the project is imported, in the worker and in the zygote."""

from __future__ import annotations

import sys

import pytest
from tests.conftest import ProjectFactory
from tests.sandbox.conftest import Canary
from tests.sandbox.scripts import ESCAPES, IMPORT_ESCAPE, IMPORT_STASH, SANDBOX_TOML

from splice.errors import ProjectError
from splice.runtime import Runtime


async def test_a_module_that_escapes_at_import_time_fails_the_project_load(
    make_project: ProjectFactory, canary: Canary
) -> None:
    root = make_project({"box.py": ESCAPES, "loud.py": IMPORT_ESCAPE.format(port=canary.port)}, toml=SANDBOX_TOML)
    with pytest.raises(ProjectError) as caught:
        await Runtime.open(root)
    assert caught.value.code == "IMPORT_FAILED"
    assert "integrations/loud.py:7 failed to import" in caught.value.message
    assert "while the project is imported (socket." in caught.value.message
    assert canary.connections == []


async def test_a_module_that_hides_its_attempts_gets_nothing_in_the_worker_or_the_zygote(
    make_project: ProjectFactory, canary: Canary
) -> None:
    root = make_project({"box.py": ESCAPES}, toml=SANDBOX_TOML)
    await (await Runtime.open(root)).close()  # the store and its key exist from now on
    key, database = root / ".splice" / "secret.key", root / ".splice" / "splice.db"
    stash = IMPORT_STASH.format(key=str(key), db=str(database), port=canary.port)
    (root / "integrations" / "quiet.py").write_text(stash)

    rt = await Runtime.open(root)
    try:
        in_worker = sys.modules["integrations.quiet"].STOLEN
        assert in_worker == dict.fromkeys(("key", "database", "tcp"), "refused: SandboxViolation")
        run = await rt.run("quiet.loot")  # a child of the zygote: what the import got there
    finally:
        await rt.close()
    assert set(run.output) == {"key", "database", "tcp"}
    assert all(value.startswith("refused: ") for value in run.output.values()), run.output
    assert key.read_text().strip()[:20] not in repr(run.output)
    assert canary.connections == []


async def test_a_module_that_reads_outside_its_package_fails_in_the_sandbox_naming_itself(
    make_project: ProjectFactory,
) -> None:
    reader = "from pathlib import Path\n\nSETTINGS = (Path(__file__).parents[1] / 'settings.json').read_text()\n"
    root = make_project({"box.py": ESCAPES, "reader.py": reader}, toml=SANDBOX_TOML)
    (root / "settings.json").write_text("{}")
    rt = await Runtime.open(root)  # the worker may read it: only the sandboxed zygote cannot
    try:
        run = await rt.run("box.quick")
    finally:
        await rt.close()
    assert run.status == "failed"
    assert run.error["code"] == "IMPORT_FAILED"
    assert run.error["message"].startswith("integrations/reader.py:3 failed to import: FileNotFoundError")
