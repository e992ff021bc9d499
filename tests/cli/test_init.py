"""``splice init`` and ``splice demo``."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from ._cli import assert_error, clean_env, init_project, splice


def test_init_creates_a_project(tmp_path: Path) -> None:
    result = splice("init", "my-project", cwd=tmp_path)

    assert result.code == 0, result
    root = tmp_path / "my-project"
    assert "created my-project/" in result.stdout
    assert "splice connections add acme c1" in result.stdout
    config = tomllib.loads((root / "splice.toml").read_text())
    assert config["project"] == {"name": "my-project", "package": "integrations"}
    assert config["runtime"]["isolation"] == "process"
    assert (root / "integrations" / "__init__.py").is_file()
    assert 'Integration(\n    "acme"' in (root / "integrations" / "acme.py").read_text()
    assert (root / "tests" / "test_acme.py").is_file()
    assert ".splice/" in (root / ".gitignore").read_text()
    assert not (root / "gitignore").exists()


def test_init_name_option_and_existing_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    result = splice("init", "empty", "--name", "crm.sync_v2", cwd=tmp_path)

    assert result.code == 0, result
    assert tomllib.loads((tmp_path / "empty" / "splice.toml").read_text())["project"]["name"] == "crm.sync_v2"


def test_init_into_a_non_empty_folder_fails(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")

    result = splice("init", "taken", cwd=tmp_path)

    assert_error(result, "taken already exists and is not empty", hint="choose a new folder name")
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["notes.txt"]


def test_init_onto_a_file_fails(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")

    assert_error(splice("init", "file", cwd=tmp_path), "already exists")


def test_init_with_a_bad_name_fails_and_creates_nothing(tmp_path: Path) -> None:
    result = splice("init", "proj", "--name", "bad name!", cwd=tmp_path)

    assert_error(result, "project name 'bad name!'", "letters, digits", hint="--name")
    assert not (tmp_path / "proj").exists()


def test_init_with_a_folder_name_that_is_no_project_name_asks_for_name(tmp_path: Path) -> None:
    result = splice("init", "my project", cwd=tmp_path)

    assert_error(result, "'my project'", hint="pass --name my-project")
    assert not (tmp_path / "my project").exists()


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    target = tmp_path / "demo"

    result = splice("demo", "--dir", str(target), cwd=tmp_path)

    assert result.code == 0, result
    assert "demo API listening on http://127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr
    assert "splice demo — 19 runs against the demo API" in result.stdout
    assert "✗" not in result.stdout
    assert result.stdout.count("✓") == 23  # the connections line, each run, two syncs and the flow
    assert "webhook delivered → 202 queued" in result.stdout
    assert "flow acme.onboarding" in result.stdout and "Each tag[1]/Tag" in result.stdout
    assert "added 1, updated 1, unchanged 249, deleted 1" in result.stdout
    assert "records read after the first sync's cursor: 3 (ADDED, DELETED, UPDATED)" in result.stdout
    assert "whoami via api key in a header" in result.stdout
    assert "duplicate email → ActionError" in result.stdout
    assert result.stdout.count("succeeded") >= 10
    assert "demo API saw" in result.stdout
    assert f"splice logs -p {target}" in result.stdout
    assert (target / "splice.toml").is_file()

    # what the demo left behind is a normal project the other commands can read
    listed = splice("connections", "list", "--json", "-p", str(target), cwd=tmp_path)
    assert listed.code == 0, listed
    connections = json.loads(listed.stdout)
    assert len(connections) >= 5
    assert all("credentials" not in c and c["credential_fields"] for c in connections)
    synced = splice("syncs", "list", "--json", "-p", str(target), cwd=tmp_path).json()
    (contacts,) = [row for row in synced if row["sync"] == "acme.contacts"]
    assert contacts["records"]["Contact"] == {"live": 251, "deleted": 1}
    assert contacts["last_run"]["status"] == "succeeded"


def test_the_new_projects_own_tests_pass(tmp_path: Path) -> None:
    """What `splice init` generates is a project whose tests run green as they are."""
    root = init_project(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        cwd=root, env=clean_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "6 passed" in proc.stdout


def test_the_new_projects_recorded_fixtures_replay_with_nothing_listening(tmp_path: Path) -> None:
    """The fixtures name http://127.0.0.1:8765, where nothing listens here: only a replay passes."""
    root = init_project(tmp_path)
    fixture = json.loads((root / "tests" / "fixtures" / "create_contact.json").read_text())
    assert fixture["exchanges"][0]["request"]["url"] == "http://127.0.0.1:8765/api/contacts"
    assert "demo-key" not in (root / "tests" / "fixtures" / "create_contact.json").read_text()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "tests/test_offline.py"],
        cwd=root, env=clean_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout
