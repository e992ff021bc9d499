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
