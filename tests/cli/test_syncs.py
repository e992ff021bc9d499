"""``splice syncs``: what a user types to list, pause, resume, reschedule, reset and trigger syncs."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli._cli import assert_error, clean_env, splice
from tests.engine._project import syncs


def make_root(folder: Path) -> Path:
    root = folder / "project"
    (root / "integrations").mkdir(parents=True)
    (root / "splice.toml").write_text('[project]\nname = "syncs"\n')
    (root / "integrations" / "__init__.py").write_text("")
    (root / "integrations" / "acme.py").write_text(syncs())
    added = splice(
        "connections", "add", "acme", "c1", "--credential", "api_key=demo-key", "--config", "api_url=http://127.0.0.1:9",
        cwd=root,
    )  # fmt: skip
    assert added.code == 0, added
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_root(tmp_path)


@pytest.fixture(scope="module")
def unchanged_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project for the bad-input cases, which must leave it as it was."""
    return make_root(tmp_path_factory.mktemp("bad-input"))


def listed(root: Path) -> dict[str, dict]:
    result = splice("syncs", "list", "--json", cwd=root)
    assert result.code == 0, result
    return {row["sync"]: row for row in result.json()}


def test_list_shows_each_sync_with_its_schedule_and_next_run(root: Path) -> None:
    table = splice("syncs", "list", cwd=root)
    assert table.code == 0, table
    for text in ("acme.items", "every 1h", "acme.slow", "cron 0 * * * *", "never", "due now", "Item 0 / 0"):
        assert text in table.stdout, table
    rows = listed(root)
    assert rows["acme.flaky"]["schedule"] == "every 15m" and rows["acme.flaky"]["last_run"] is None


def test_pause_resume_and_override_a_schedule(root: Path) -> None:
    paused = splice("syncs", "pause", "acme.items", cwd=root)
    assert paused.code == 0 and "paused acme.items for c1" in paused.stderr, paused
    assert listed(root)["acme.items"]["paused"] is True
    assert "paused" in splice("syncs", "list", cwd=root).stdout
    resumed = splice("syncs", "resume", "acme.items", "-c", "c1", cwd=root)
    assert resumed.code == 0, resumed
    assert listed(root)["acme.items"]["paused"] is False

    changed = splice("syncs", "schedule", "acme.items", "-c", "c1", "--every", "6h", cwd=root)
    assert changed.code == 0 and "every 6h" in changed.stderr, changed
    assert listed(root)["acme.items"]["schedule"] == "every 6h"
    assert "every 6h (override)" in splice("syncs", "list", cwd=root).stdout
    restored = splice("syncs", "schedule", "acme.items", "-c", "c1", "--default", cwd=root)
    assert restored.code == 0, restored
    assert listed(root)["acme.items"]["schedule"] == "every 1h"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["schedule", "acme.items", "-c", "c1", "--every", "10s"], ["every=", "30s"]),
        (["schedule", "acme.items", "-c", "c1", "--cron", "every day"], ["not a valid cron expression"]),
        (["schedule", "acme.items", "-c", "c1"], ["pass --every or --cron"]),
        (["schedule", "acme.items", "-c", "c1", "--every", "1h", "--default"], ["pass --every or --cron"]),
        (["trigger", "acme.nope", "-c", "c1"], ["has no script 'nope'"]),
        (["trigger", "acme.ping", "-c", "c1"], ["acme.ping is not a sync"]),
        (["trigger", "acme.items", "-c", "c9"], ["c9"]),
        (["reset", "acme.items", "-c", "c9", "--yes"], ["c9"]),
        (["pause", "nope.items"], ["nope"]),
    ],
)
def test_bad_input_is_one_clear_line_and_changes_nothing(
    unchanged_root: Path, args: list[str], fragments: list[str]
) -> None:
    assert_error(splice("syncs", *args, cwd=unchanged_root), *fragments, hint=None)
    rows = listed(unchanged_root)
    plan = {name: (r["schedule"], r["paused"], r["overridden"], r["last_run"]) for name, r in rows.items()}
    assert plan == {
        "acme.items": ("every 1h", False, False, None),
        "acme.flaky": ("every 15m", False, False, None),
        "acme.slow": ("cron 0 * * * *", False, False, None),
    }


def test_reset_asks_first_and_a_no_keeps_everything(root: Path) -> None:
    refused = splice("syncs", "reset", "acme.items", "-c", "c1", cwd=root, input="n\n")
    assert refused.code == 1 and "Aborted" in refused.stderr + refused.stdout, refused
    done = splice("syncs", "reset", "acme.items", "-c", "c1", cwd=root, input="y\n")
    assert done.code == 0 and "reset acme.items for c1: 0 records deleted" in done.stderr, done


def test_trigger_queues_once_and_says_a_worker_runs_it(root: Path) -> None:
    first = splice("syncs", "trigger", "acme.items", "-c", "c1", cwd=root)
    assert first.code == 0, first
    assert "queued acme.items for c1: job" in first.stderr and "splice worker" in first.stderr
    again = splice("syncs", "trigger", "acme.items", "-c", "c1", cwd=root)
    assert_error(again, "acme.items:c1 is already queued or running", hint="wait for it")


def test_run_background_queues_an_action_and_refuses_bad_input(root: Path) -> None:
    queued = splice("run", "acme.ping", "-c", "c1", "--input", '{"n": 1}', "--background", cwd=root)
    assert queued.code == 0, queued
    assert queued.json()["job_id"] and "queued acme.ping" in queued.stderr
    assert_error(splice("run", "acme.ping", "-c", "c9", "--background", cwd=root), "c9", hint=None)


JSONCRM = """
from pydantic import BaseModel
from splice import Integration, auth

jsoncrm = Integration("jsoncrm", base_url="{config.api_url}", auth=auth.ApiKey())


class Contact(BaseModel):
    id: str


@jsoncrm.sync(models=[Contact], every="15m")
async def contacts(ctx):
    pass


@jsoncrm.sync(models=[Contact], cron="*/5 * * * *")
async def companies(ctx):
    pass


@jsoncrm.sync(models=[Contact], every="1h")
async def contacts_with_their_companies_and_deals(ctx):  # too long to stay whole in 80 columns
    pass
"""


def test_list_keeps_sync_and_connection_names_whole_in_80_columns(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    (root / "integrations" / "jsoncrm.py").write_text(JSONCRM)
    added = splice(
        "connections", "add", "jsoncrm", "customer-0042", "--credential", "api_key=k", "--config", "api_url=http://x",
        cwd=root,
    )  # fmt: skip
    assert added.code == 0, added

    result = splice("syncs", "list", "jsoncrm", cwd=root, env=clean_env(COLUMNS="80"))

    assert result.code == 0, result
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), result
    assert "…" not in result.stdout, result  # the longest name folds onto more lines: nothing is cut
    for sync in ("jsoncrm.contacts", "jsoncrm.companies"):
        assert any(line.startswith(f"{sync} ") and " customer-0042 " in line for line in lines), result
