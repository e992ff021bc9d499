"""The README's "Exports and imports" example runs as written, against the demo API, in both modes."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest
from tests.conftest import ProjectFactory

from splice.demo.server import DemoAPI
from splice.runtime import Runtime

README = Path(__file__).resolve().parents[2] / "README.md"


def example() -> str:
    section = README.read_text().split("### Exports and imports", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)[0]


@pytest.mark.parametrize("isolation", ["process", "none"])
async def test_the_readme_flow_copies_every_contact_but_test_accounts(
    make_project: ProjectFactory, demo_api: DemoAPI, isolation: str
) -> None:
    async with aiohttp.ClientSession() as http:
        new = {"email": "qa@example.test", "name": "QA"}
        async with http.post(f"{demo_api.url}/api/contacts", json=new, headers={"X-API-Key": "demo-key"}) as resp:
            assert resp.status == 201
    async with await Runtime.open(make_project({"sync.py": example()}), isolation=isolation) as rt:
        for integration in ("crm", "erp"):
            await rt.connections.add(integration, "c1", {"api_key": "demo-key"}, config={"api_url": demo_api.url})
        run = await rt.flows.run("crm.to_erp", connection="c1")
        assert run.status == "succeeded", run.error
        assert run.output == {"pages": 2, "records": 121, "errors": 0, "failed_records": 0}
        applied = [key for key in demo_api.stats if key.startswith("effects.applied.contact-")]
        assert len(applied) == 120 and "effects.applied.contact-user1@example.com" in applied
        assert not any(key.endswith(".test") for key in applied)
        again = await rt.flows.run("crm.to_erp", connection="c1")  # the same records: the API applies none twice
        assert again.status == "succeeded" and all(demo_api.stats[key] == 1 for key in applied)


def async_and_files_example() -> str:
    section = README.read_text().split("### Async helpers and file definitions", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)[0]


async def test_the_readme_archive_polls_one_job_and_uploads_a_csv_a_page(
    make_project: ProjectFactory, demo_api: DemoAPI
) -> None:
    submitted, uploads = demo_api.stats["jobs.submitted"], demo_api.stats["files.uploads.archive.csv"]
    async with await Runtime.open(make_project({"erp.py": async_and_files_example()})) as rt:
        await rt.connections.add("erp", "c1", {"api_key": "demo-key"}, config={"api_url": demo_api.url})
        run = await rt.flows.run("erp.archive", connection="c1")
        assert run.status == "succeeded", run.error
        assert run.output == {"pages": 3, "records": 1200, "errors": 0, "failed_records": 0}
    assert demo_api.stats["jobs.submitted"] == submitted + 1
    assert demo_api.stats["files.uploads.archive.csv"] == uploads + 3
    last = demo_api.files.files["archive.csv"].decode().split("\r\n")
    assert last[0] == "id,n" and last[1].endswith("-r1000,1000") and len(last) == 202  # header, 200 rows, ""
