"""A sync's checkpoint and deletes, and a trigger's request and response, through the harness."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.conftest import ProjectFactory
from tests.testing.conftest import MODULES, record

from splice.demo.server import DemoAPI
from splice.errors import FixtureError, NotFound, Unauthorized, UsageError
from splice.runtime import Runtime
from splice.testing import Harness, load_fixture

SECRET = "whsec-Live-7d1e0c9b8a"
KEY = "sk_live_Trigger4242"


async def test_a_sync_reports_its_checkpoint_and_the_records_it_deleted(
    make_project: ProjectFactory, tmp_path: Path, demo_api: DemoAPI
) -> None:
    root = make_project(MODULES)
    fixture = tmp_path / "tracked.json"
    await record(root, "acme.tracked", fixture, credentials={"api_key": "demo-key"}, config={"api_url": demo_api.url})
    recorded = load_fixture(fixture)
    assert recorded.checkpoint == {"runs": 1}
    assert recorded.deleted == {}
    harness = Harness(root, strict=True)
    first = await harness.run("acme.tracked", fixture=fixture)
    assert first.checkpoint == {"runs": 1}
    assert len(first.records.Contact) == 120 and first.deleted == {}
    # an earlier run left two contacts the API no longer has, and a checkpoint
    gone = [{"id": "gone-1", "email": "a@x.io"}, {"id": "gone-2", "email": "b@x.io"}]
    again = await harness.run("acme.tracked", fixture=fixture, checkpoint={"runs": 41}, records={"Contact": gone})
    assert again.checkpoint == {"runs": 42}
    assert again.deleted == {"Contact": ["gone-1", "gone-2"]}
    assert len(again.records.Contact) == 120
    assert not {"gone-1", "gone-2"} & {c.id for c in again.records.Contact}


async def test_seeding_a_model_the_sync_lacks_or_an_action_is_refused(
    make_project: ProjectFactory, tmp_path: Path, demo_api: DemoAPI
) -> None:
    root = make_project(MODULES)
    fixture = tmp_path / "tracked.json"
    await record(root, "acme.tracked", fixture, credentials={"api_key": "demo-key"}, config={"api_url": demo_api.url})
    with pytest.raises(UsageError, match=r"names the model 'Deal'; acme\.tracked syncs Contact"):
        await Harness(root).run("acme.tracked", fixture=fixture, records={"Deal": [{"id": "1"}]})
    counter = tmp_path / "counter.json"
    root = make_project(MODULES)
    await record(root, "acme.counter", counter, credentials={"api_key": "demo-key"}, config={"api_url": demo_api.url})
    with pytest.raises(UsageError, match=r"acme.counter is not a sync \(action\)"):
        await Harness(root).run("acme.counter", fixture=counter, checkpoint={"x": 1})


async def _live_connection(root: Path, url: str) -> None:
    """The project's own store gets what a recording needs: the connection and the webhook secret."""
    rt = await Runtime.open(root)
    try:
        await rt.connections.add("acme", "c1", {"api_key": KEY}, config={"api_url": url})
        await rt.env.set("ACME_WEBHOOK_SECRET", SECRET)
    finally:
        await rt.close()


async def test_a_trigger_is_recorded_then_replayed_offline_signed_anew(
    make_project: ProjectFactory, tmp_path: Path, isolation: str
) -> None:
    root = make_project(MODULES)
    fixture = tmp_path / "event.json"
    api = DemoAPI(contacts=5, api_keys={KEY})
    await api.start()
    try:
        await _live_connection(root, api.url)
        recorded = await Harness(root, record=True).trigger(
            "acme.contact_event", fixture=fixture, json={"account": "c1", "id": "c0001", "type": "updated"}
        )
    finally:
        await api.stop()
    assert recorded.response.status == 202
    text = fixture.read_text()
    for secret in (SECRET, KEY):
        assert secret not in text
    data = load_fixture(fixture)
    assert data.kind == "trigger"
    assert "x-acme-signature" not in data.input["headers"] and "x-acme-timestamp" not in data.input["headers"]
    assert data.input["body"] == {"json": {"account": "c1", "id": "c0001", "type": "updated"}}

    # the demo API is gone: the replay is signed with a test secret and answered from the fixture
    run = await Harness(root, strict=True, isolation=isolation).trigger("acme.contact_event", fixture=fixture)
    assert run.status == "succeeded", run.error
    assert run.response.status == 202
    assert run.response.json == recorded.response.json
    assert run.response.json.email.endswith("@example.com")
    assert "event" in run.messages
    # the request can be changed in the test; a contact the fixture does not hold is a mismatch
    with pytest.raises(FixtureError, match=r"GET .*/api/contacts/c0002") as caught:
        await Harness(root).trigger("acme.contact_event", fixture=fixture, json={"account": "c1", "id": "c0002"})
    assert caught.value.code == "FIXTURE_MISMATCH"


async def test_a_trigger_refuses_what_a_server_would(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project(MODULES)
    harness = Harness(root)
    with pytest.raises(Unauthorized, match="no X-Acme-Signature header") as caught:
        await harness.trigger("acme.contact_event", json={"account": "c1", "id": "1"}, sign=False)
    assert caught.value.code == "INVALID_SIGNATURE"
    with pytest.raises(Unauthorized, match="signature does not match"):
        forged = {"X-Acme-Signature": "sha256=00", "X-Acme-Timestamp": str(int(time.time()))}
        await harness.trigger("acme.contact_event", json={"account": "c1", "id": "1"}, headers=forged)
    with pytest.raises(NotFound, match="no acme connection 'c9'"):
        await harness.trigger("acme.contact_event", json={"account": "c9", "id": "1"})
    with pytest.raises(UsageError, match=r"acme.counter is not a trigger \(action\)"):
        await harness.trigger("acme.counter", json={})


async def test_a_trigger_without_a_fixture_and_without_api_calls(make_project: ProjectFactory) -> None:
    run = await Harness(make_project(MODULES), strict=True).trigger("acme.ping", method="PUT", query={"n": "3"})
    assert run.response.status == 200
    assert run.response.json == {"pong": "3", "method": "PUT"}
    assert run.output["status"] == 200
