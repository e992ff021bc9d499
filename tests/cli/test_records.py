"""``splice run`` of a sync and ``splice records`` paging through what it stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from tests.cli._cli import assert_error, init_project, splice

from splice.demo.server import DemoAPI

SYNC = """
from pydantic import BaseModel
from splice import Integration, auth, paginate

from integrations.acme import AcmeConfig

crm = Integration(
    "crm", base_url="{config.api_url}/api", auth=auth.ApiKey(in_="header", name="X-API-Key"),
    paginate=paginate.Cursor(cursor_path="meta.next", cursor_param="cursor", limit_param="limit", limit=25),
    config=AcmeConfig,
)

class Contact(BaseModel):
    id: str
    email: str

@crm.sync(models=[Contact], every="1h")
async def contacts(ctx):
    async for page in ctx.api.paginate("/contacts"):
        await ctx.records.save(page)
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    api = DemoAPI(contacts=60)
    url = api.start_in_thread()
    root = init_project(tmp_path_factory.mktemp("records"), "my-project", ("crm.py", SYNC))
    result = splice(
        "connections", "add", "crm", "c1", "--credential", "api_key=demo-key", "--config", f"api_url={url}", cwd=root
    )
    assert result.code == 0, result
    ran = splice("run", "crm.contacts", "-c", "c1", "-q", cwd=root)
    assert ran.code == 0, ran
    yield SimpleNamespace(root=root, url=url, run=ran)
    api.stop_thread()


def test_a_sync_run_reports_what_it_stored(project: SimpleNamespace) -> None:
    assert json.loads(project.run.stdout)["records"]["Contact"]["added"] == 60


def test_a_quiet_sync_run_prints_only_its_output(project: SimpleNamespace) -> None:
    assert project.run.stderr == ""  # -q: no progress lines, no log lines, no "succeeded" line


def test_records_pages_with_a_cursor(project: SimpleNamespace) -> None:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        args = ["records", "crm", "Contact", "-c", "c1", "--limit", "25"] + (["--cursor", cursor] if cursor else [])
        result = splice(*args, cwd=project.root)
        assert result.code == 0, result
        page = result.json()
        seen += [r["id"] for r in page["records"]]
        assert all(r["_splice"]["last_action"] == "ADDED" for r in page["records"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 60 == len(set(seen))


def test_records_filters(project: SimpleNamespace) -> None:
    result = splice("records", "crm", "Contact", "-c", "c1", "--filter", "deleted", cwd=project.root)
    assert result.json()["records"] == []
    result = splice("records", "crm", "Contact", "-c", "c1", "--ids", "c0002,c0003", cwd=project.root)
    assert sorted(r["id"] for r in result.json()["records"]) == ["c0002", "c0003"]
    result = splice("records", "crm", "Contact", "-c", "c1", "--modified-after", "1h", cwd=project.root)
    assert len(result.json()["records"]) == 60


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--filter", "changed"], "--filter 'changed'"),
        (["--cursor", "not-a-cursor"], "cursor"),
        (["--modified-after", "yesterday"], "--modified-after 'yesterday'"),
    ],
)
def test_bad_reader_input_is_one_clear_error(project: SimpleNamespace, args: list[str], fragment: str) -> None:
    result = splice("records", "crm", "Contact", "-c", "c1", *args, cwd=project.root)
    assert_error(result, fragment, hint=None)


def test_unknown_model_and_connection(project: SimpleNamespace) -> None:
    assert_error(splice("records", "crm", "Deal", "-c", "c1", cwd=project.root), "syncs no model 'Deal'", hint=None)
    assert_error(splice("records", "crm", "Contact", "-c", "nope", cwd=project.root), "connection 'nope'", hint=None)


def test_syncs_list_shows_schedule_last_run_and_counts(project: SimpleNamespace) -> None:
    result = splice("syncs", "list", "--json", cwd=project.root)
    assert result.code == 0, result
    (row,) = result.json()
    assert row["sync"] == "crm.contacts"
    assert row["connection"] == "c1"
    assert row["schedule"] == "every 1h"
    assert row["last_run"]["status"] == "succeeded"
    assert row["records"] == {"Contact": {"live": 60, "deleted": 0}}
    table = splice("syncs", "list", cwd=project.root)
    assert "crm.contacts" in table.stdout and "Contact 60 / 0" in table.stdout
    assert_error(splice("syncs", "list", "nope", cwd=project.root), "unknown integration 'nope'")
