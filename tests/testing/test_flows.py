"""A flow recorded against the real demo API (``pytest --splice-record``'s path, and ``splice flows run
--record``), then replayed with the API stopped: every step's result, from one fixture."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli._cli import splice
from tests.conftest import ProjectFactory

from splice.demo.server import DemoAPI
from splice.errors import FixtureError
from splice.runtime import Runtime
from splice.testing import Harness, load_fixture

FLOW = """
from splice import Integration, auth, expr, step

acme = Integration("acme", base_url="{config.api_url}/api", auth=auth.ApiKey(in_="header", name="X-API-Key"))


@acme.action
async def whoami(ctx, input):
    return await ctx.api.get("/whoami")


@acme.step()
async def first_contacts(ctx, step_results):
    page = await ctx.api.get("/contacts", query={"limit": step_results.trigger["limit"]})
    return [c["email"] for c in page["data"]]


acme.flow("onboard", steps=[
    step.action("Who", "whoami"),
    step.code("Emails", first_contacts),
    step.for_each("Each", items=expr("steps.Emails"), steps=[step.code("Again", first_contacts)]),
])
"""


async def _connect(root: Path, api: DemoAPI) -> None:
    async with await Runtime.open(root) as rt:
        await rt.connections.add("acme", "c1", {"api_key": "demo-key"}, config={"api_url": api.url})


async def test_a_flow_replays_every_step_offline(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"acme.py": FLOW})
    fixture = tmp_path / "onboard.json"
    api = DemoAPI(contacts=5)
    await api.start()
    try:
        await _connect(root, api)
        recorded = await Harness(root, record=True).run_flow("acme.onboard", fixture=fixture, payload={"limit": 2},
                                                             connection="c1")  # fmt: skip
        assert recorded.status == "succeeded", recorded.error
    finally:
        await api.stop()
    saved = load_fixture(fixture)
    assert saved.kind == "flow" and saved.input == {"limit": 2} and len(saved.exchanges) == 4
    run = await Harness(root, strict=True).run_flow("acme.onboard", fixture=fixture)
    assert run.status == "succeeded", run.error
    assert run.steps.Emails == ["user1@example.com", "user2@example.com"]
    assert run.steps["Each[1]/Again"] == run.steps.Emails and run.steps.Who.auth == "api_key"
    with pytest.raises(FixtureError) as missing:  # a third contact asks for a request never recorded
        await Harness(root).run_flow("acme.onboard", fixture=fixture, payload={"limit": 3})
    assert missing.value.code == "FIXTURE_MISMATCH" and "limit=3" in missing.value.message


async def test_splice_flows_run_record(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"acme.py": FLOW})
    api = DemoAPI(contacts=5)
    api.start_in_thread()  # the console script's calls are answered while this test waits for it
    try:
        await _connect(root, api)
        result = splice("flows", "run", "acme.onboard", "-c", "c1", "--payload", '{"limit": 1}', "--record",
                        str(tmp_path / "f.json"), cwd=root)  # fmt: skip
    finally:
        api.stop_thread()
    assert result.code == 0, result
    assert "recorded 3 exchanges" in result.stderr
    assert "demo-key" not in (tmp_path / "f.json").read_text()
    run = await Harness(root).run_flow("acme.onboard", fixture=tmp_path / "f.json")
    assert run.steps.Emails == ["user1@example.com"]
