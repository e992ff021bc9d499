"""Tests for the acme integration, against splice's bundled demo API on 127.0.0.1."""

import pytest
import pytest_asyncio

from splice.demo.server import DemoAPI
from splice.runtime import Runtime

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def api():
    demo = DemoAPI(contacts=120)
    await demo.start()
    yield demo
    await demo.stop()


@pytest_asyncio.fixture
async def runtime(tmp_path, monkeypatch, api):
    import pathlib
    import shutil

    project = pathlib.Path(__file__).resolve().parents[1]
    shutil.copytree(project, tmp_path / "project", ignore=shutil.ignore_patterns(".splice", "__pycache__"))
    rt = await Runtime.open(tmp_path / "project", isolation="none")
    await rt.connections.add("acme", "c1", {"api_key": "demo-key"}, config={"api_url": api.url})
    yield rt
    await rt.close()


async def test_create_contact(runtime):
    run = await runtime.run("acme.create_contact", connection="c1", input={"email": "ada@example.com"})
    assert run.status == "succeeded", run.error
    assert run.output["email"] == "ada@example.com"


async def test_duplicate_email_is_an_action_error(runtime):
    await runtime.run("acme.create_contact", connection="c1", input={"email": "ada@example.com"})
    run = await runtime.run("acme.create_contact", connection="c1", input={"email": "ada@example.com"})
    assert run.error["code"] == "ACTION_ERROR"


async def test_count_contacts(runtime):
    run = await runtime.run("acme.count_contacts", connection="c1")
    assert run.output == {"count": 120}
