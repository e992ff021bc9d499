"""``splice run``: live logs on stderr, the output as JSON on stdout, clear failures."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from splice.demo.server import DemoAPI

from ._cli import Result, add_acme, assert_error, init_project, splice

TOOLS = """
import asyncio

from splice import Integration

tools = Integration("tools", base_url="http://127.0.0.1")


@tools.action
async def slow(ctx, input):
    ctx.log.info("sleeping")
    await asyncio.sleep(30)


@tools.action
async def crash(ctx, input):
    ctx.log.warning("about to divide")
    return 1 / 0


@tools.action
async def shout(ctx, input):
    ctx.log.info("literal [red]markup[/red] stays text")
    return {"text": "[bold]not bold[/bold] ✓"}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, shared_api: DemoAPI) -> SimpleNamespace:
    root = init_project(tmp_path_factory.mktemp("run"), "my-project", ("tools.py", TOOLS))
    add_acme(root, "c1", shared_api.url)
    return SimpleNamespace(root=root, api=shared_api)


def create_contact(root: Path, payload: dict[str, object] | str, *options: str) -> Result:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return splice("run", "acme.create_contact", "-c", "c1", "--input", text, *options, cwd=root)


def test_run_prints_the_output_as_json_and_logs_live(project: SimpleNamespace) -> None:
    result = create_contact(project.root, {"email": "ada@example.com", "name": "Ada"})

    assert result.code == 0, result
    contact = result.json()
    assert contact["email"] == "ada@example.com"
    assert contact["name"] == "Ada"
    assert contact["id"].startswith("c")
    assert project.api.store.get(contact["id"])["email"] == "ada@example.com"
    lines = result.stderr.splitlines()
    request = next(line for line in lines if " POST " in line)
    assert f"info    POST {project.api.url}/api/contacts → 201" in request
    created = next(line for line in lines if "created contact" in line)
    assert lines.index(request) < lines.index(created)
    assert lines[-1].startswith(f"run {result.run_id} succeeded in ")
    assert lines[-1].endswith(" ms")
    assert "demo-key" not in result.stdout + result.stderr


def test_a_second_identical_run_is_an_action_error(project: SimpleNamespace) -> None:
    payload = {"email": "twice@example.com", "name": "Twice"}
    assert create_contact(project.root, payload).code == 0

    result = create_contact(project.root, payload)

    assert result.code == 1, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "POST" in result.stderr
    assert "→ 409" in result.stderr
    assert f"run {result.run_id} failed: [ACTION_ERROR]" in result.stderr
    assert "payload: {'reason': 'duplicate email'}" in result.stderr


def test_invalid_input_names_the_field_without_a_traceback(project: SimpleNamespace) -> None:
    result = create_contact(project.root, {"name": 1})

    line = assert_error(result, "invalid input for acme.create_contact", "email", "Field required", hint=None)
    assert "name" in line


def test_input_from_a_file(project: SimpleNamespace, tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text(json.dumps({"email": "file@example.com", "name": "File"}))

    result = create_contact(project.root, f"@{tmp_path / 'in.json'}")

    assert result.code == 0, result
    assert result.json()["email"] == "file@example.com"


def test_input_from_stdin(project: SimpleNamespace) -> None:
    result = splice(
        "run", "acme.create_contact", "-c", "c1", "--input", "-", cwd=project.root,
        input='{"email": "stdin@example.com"}',
    )  # fmt: skip

    assert result.code == 0, result
    assert result.json() == {"id": result.json()["id"], "email": "stdin@example.com", "name": ""}


def test_in_process(project: SimpleNamespace) -> None:
    result = create_contact(project.root, {"email": "inproc@example.com"}, "--in-process")

    assert result.code == 0, result
    assert result.json()["email"] == "inproc@example.com"
    assert "created contact" in result.stderr
    assert "succeeded" in result.stderr


def test_count_contacts_walks_every_page(project: SimpleNamespace) -> None:
    expected = len(project.api.store)

    result = splice("run", "acme.count_contacts", "--connection", "c1", cwd=project.root)

    assert result.code == 0, result
    assert result.json() == {"count": expected}
    assert result.stderr.count(" GET ") == expected // 100 + 1


def test_quiet_prints_only_the_output(project: SimpleNamespace) -> None:
    result = create_contact(project.root, {"email": "quiet@example.com"}, "-q")

    assert result.code == 0, result
    assert result.json()["email"] == "quiet@example.com"
    assert result.stderr == ""  # no log lines, no "succeeded" line


def test_time_limit_stops_the_run(project: SimpleNamespace) -> None:
    started = time.monotonic()

    result = splice("run", "tools.slow", "--time-limit", "1", cwd=project.root)

    assert time.monotonic() - started < 15
    assert result.code == 1, result
    assert result.stdout == ""
    assert "sleeping" in result.stderr
    assert f"run {result.run_id} timed_out: [TIME_LIMIT_EXCEEDED]" in result.stderr
    assert "hint: " in result.stderr


@pytest.mark.parametrize("in_process", [False, True], ids=["child", "in-process"])
def test_a_script_that_raises_shows_its_own_traceback(project: SimpleNamespace, in_process: bool) -> None:
    result = splice("run", "tools.crash", *(["--in-process"] if in_process else []), cwd=project.root)

    assert result.code == 1, result
    assert result.stdout == ""
    assert "about to divide" in result.stderr
    assert f"run {result.run_id} failed: [SCRIPT_ERROR] ZeroDivisionError: division by zero" in result.stderr
    assert 'integrations/tools.py", line 18, in crash' in result.stderr  # the user's code, not splice's
    assert "site-packages" not in result.stderr


def test_markup_in_logs_and_output_is_printed_literally(project: SimpleNamespace) -> None:
    result = splice("run", "tools.shout", cwd=project.root)

    assert result.code == 0, result
    assert result.json() == {"text": "[bold]not bold[/bold] ✓"}
    assert "literal [red]markup[/red] stays text" in result.stderr


def test_unknown_script_of_a_known_integration_lists_its_scripts(project: SimpleNamespace) -> None:
    result = splice("run", "acme.nope", "-c", "c1", cwd=project.root)

    assert_error(result, "'nope'", "count_contacts, create_contact", hint=None)
    assert_error(splice("run", "tools.nope", cwd=project.root), "(it has: crash, shout, slow)", hint=None)


def test_unknown_script(project: SimpleNamespace) -> None:
    assert_error(splice("run", "nope", cwd=project.root), "unknown script 'nope'", hint="integration.script")
    assert_error(splice("run", "crm.nope", cwd=project.root), "unknown integration 'crm'", "acme")


def test_unknown_connection(project: SimpleNamespace) -> None:
    assert_error(
        splice("run", "acme.count_contacts", "-c", "c404", cwd=project.root),
        "connection 'c404'",
        "not found",
        hint="splice connections list",
    )


def test_missing_connection(project: SimpleNamespace) -> None:
    result = splice("run", "acme.count_contacts", cwd=project.root)

    assert_error(result, "acme.count_contacts needs a connection", hint="--connection")


def test_malformed_input_json_is_one_clear_error(project: SimpleNamespace) -> None:
    result = create_contact(project.root, "{bad")

    assert_error(result, "--input is not valid JSON", hint="@file")
