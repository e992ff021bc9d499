"""A broken project, or none at all: one clear error line naming what to fix."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from tests.conftest import ProjectFactory

from splice.demo.server import DemoAPI

from ._cli import asplice, assert_error, init_project, splice

BROKEN_TOML = [
    pytest.param('[project]\nname = "x"\n[runtime\ntime_limit = 5\n', ["is not valid TOML", "line 3"], id="syntax"),
    pytest.param('[runtime]\nisolaton = "x"\n', ["is invalid", "runtime.isolaton", "Extra inputs"], id="unknown-key"),
    pytest.param("[runtime]\ntime_limit = -1\n", ["is invalid", "runtime.time_limit", "greater than 0"], id="negative"),
    pytest.param('[runtime]\nisolation = "docker"\n', ["runtime.isolation", "'process' or 'none'"], id="bad-enum"),
]


@pytest.mark.parametrize(("toml", "fragments"), BROKEN_TOML)
async def test_a_malformed_splice_toml_is_one_clear_error(
    make_project: ProjectFactory, toml: str, fragments: list[str]
) -> None:
    root = make_project({"empty.py": ""}, toml=toml)

    # the same error whichever command loads the project
    results = await asyncio.gather(
        asplice("connections", "list", cwd=root),
        asplice("run", "acme.create_contact", "-c", "c1", "--input", "{}", cwd=root),
    )

    for result in results:
        line = assert_error(result, str(root / "splice.toml"), *fragments, hint=None)
        assert line.startswith(f"error: {root / 'splice.toml'}"), result


def test_keys_rotate_with_a_malformed_splice_toml_is_one_clear_error(make_project: ProjectFactory) -> None:
    root = make_project({"empty.py": ""}, toml="[runtime]\ntime_limit = -1\n")

    assert_error(splice("keys", "rotate", cwd=root), "runtime.time_limit", hint=None)


async def test_an_integrations_module_that_raises_names_file_line_and_exception(
    make_project: ProjectFactory,
) -> None:
    source = 'VALUE = 1\n\n\ndef helper():\n    raise RuntimeError("boom at import")\n\n\nhelper()\n'
    root = make_project({"broken.py": source})

    result = await asplice("run", "acme.create_contact", "-c", "c1", "--input", "{}", cwd=root)

    line = assert_error(
        result, "integrations/broken.py:5", "failed to import", "RuntimeError: boom at import", hint=None
    )
    assert str(root) not in line  # the path is relative to the project: short and readable


async def test_an_integrations_module_with_a_syntax_error_names_file_and_line(
    make_project: ProjectFactory,
) -> None:
    root = make_project({"typo.py": "x = 1\ndef f(:\n    pass\n"})

    result = await asplice("run", "acme.create_contact", cwd=root)

    assert_error(result, "integrations/typo.py:2", "SyntaxError", hint=None)


OUTSIDE = [
    pytest.param(["connections", "list"], id="connections-list"),
    pytest.param(["run", "acme.create_contact", "-c", "c1", "--input", "{}"], id="run"),
    pytest.param(["logs"], id="logs"),
    pytest.param(["env", "list"], id="env-list"),
    pytest.param(["keys", "rotate"], id="keys-rotate"),
]


@pytest.mark.parametrize("args", OUTSIDE)
def test_outside_any_project_the_error_suggests_splice_init(tmp_path: Path, args: list[str]) -> None:
    result = splice(*args, cwd=tmp_path)

    assert_error(result, "no splice.toml in", str(tmp_path.resolve()), hint="`splice init`")


def test_project_option_points_at_a_project_from_anywhere(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"empty.py": ""})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    result = splice("connections", "list", "--project", str(root), cwd=elsewhere)

    assert result.code == 0, result
    assert "no connections yet" in result.stdout
    assert (root / ".splice").is_dir()
    assert not (elsewhere / ".splice").exists()


CRM = """
from pydantic import BaseModel
from splice import Integration, auth

from integrations.acme import AcmeConfig

crm = Integration("crm", base_url="{config.api_url}/api", auth=auth.ApiKey(), config=AcmeConfig)


class Contact(BaseModel):
    id: str
    email: str


@crm.sync(models=[Contact], every="1h")
async def contacts(ctx):
    ctx.log.info("syncing contacts")
    page = await ctx.api.get("/contacts", query={"limit": 5})
    await ctx.records.save(page["data"])
"""


def test_read_commands_work_while_a_module_does_not_import(tmp_path: Path, shared_api: DemoAPI) -> None:
    root = init_project(tmp_path, "my-project", ("crm.py", CRM))
    config = f"api_url={shared_api.url}"
    for args in (
        ["connections", "add", "crm", "c1", "--credential", "api_key=demo-key", "--config", config],
        ["run", "crm.contacts", "-c", "c1", "-q"],
    ):
        assert splice(*args, cwd=root).code == 0
    broken = root / "integrations" / "crm.py"
    broken.write_text(CRM + "\n\ndef later(:\n    pass\n")
    where = f"integrations/crm.py:{broken.read_text().splitlines().index('def later(:') + 1}"

    reads = {
        "connections list": splice("connections", "list", "--json", cwd=root),
        "connections show": splice("connections", "show", "crm", "c1", cwd=root),
        "logs": splice("logs", "--json", cwd=root),
        "env list": splice("env", "list", cwd=root),
        "records": splice("records", "crm", "Contact", "-c", "c1", cwd=root),
        "syncs list": splice("syncs", "list", "--json", cwd=root),
    }

    for name, result in reads.items():
        assert result.code == 0, result
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("warning: "), f"{name}\n{result}"
        assert f"{where} failed to import: SyntaxError" in lines[0], result
    assert [c["id"] for c in reads["connections list"].json()] == ["c1"]
    assert reads["connections show"].json()["integration"] == "crm"
    assert "syncing contacts" in [json.loads(line)["message"] for line in reads["logs"].stdout.splitlines()]
    assert len(reads["records"].json()["records"]) == 5
    assert reads["syncs list"].json() == []  # its sync is in the module that does not import

    # commands that run scripts fail as before, with the file and line, and nothing else
    for args in (["run", "acme.count_contacts", "-c", "c1"], ["syncs", "trigger", "crm.contacts", "-c", "c1"]):
        assert_error(splice(*args, cwd=root), where, "SyntaxError", hint=None)
