"""The demo project's scripts replayed from fixtures recorded against the demo API: no network, no
credentials, through splice's pytest plugin (``splice_harness``), as a user's project tests them.

Record them again with ``.venv/bin/python -m tests.demo.record_fixtures``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import splice.demo
from splice.errors import Unauthorized
from splice.testing import Harness

DEMO = Path(splice.demo.__file__).parent / "project"
FIXTURES = Path(__file__).parent / "fixtures"
#: the webhook Acme sends when contact c0001 changes; the account names the connection
WEBHOOK = {"account": "c1", "id": "c0001", "type": "contact.updated"}


@pytest.fixture
def demo(splice_harness: Harness) -> Harness:
    return splice_harness.for_project(DEMO)


async def test_create_contact(demo: Harness) -> None:
    run = await demo.run("acme.create_contact", fixture="fixtures/create_contact.json")
    assert run.status == "succeeded", run.error
    assert run.output == {"id": run.output.id, "email": "ada@example.com", "name": "Ada"}
    assert run.messages[0].startswith("POST ") and run.messages[0].endswith("/api/contacts → 201")
    assert "created contact" in run.messages


async def test_a_duplicate_email_is_a_structured_error(demo: Harness) -> None:
    run = await demo.run("acme.create_contact", fixture="fixtures/duplicate_contact.json")
    assert run.status == "failed"
    assert run.error["code"] == "ACTION_ERROR"
    assert run.error["details"]["payload"] == {"reason": "duplicate email"}


async def test_rate_limited_calls_are_retried_from_the_recording(demo: Harness) -> None:
    run = await demo.run("acme.rate_limited", fixture="fixtures/rate_limited.json", strict=True)
    assert run.status == "succeeded", run.error
    assert [line["fields"].get("status") for line in run.logs if "status" in line["fields"]][-3:] == [429, 429, 200]


async def test_the_contacts_sync_saves_every_contact_and_deletes_the_missing(demo: Harness) -> None:
    first = await demo.run("acme.contacts", fixture="fixtures/contacts_sync.json", strict=True)
    assert first.status == "succeeded", first.error
    assert len(first.records.Contact) == 251 and first.deleted == {}  # the API's 250 and Ada
    # a contact an earlier run saved is gone from the API: track_deletes marks it deleted
    again = await demo.run("acme.contacts", fixture="fixtures/contacts_sync.json",
                           records={"Contact": [{"id": "c9999", "email": "gone@example.com"}]})  # fmt: skip
    assert again.deleted == {"Contact": ["c9999"]}
    assert len(again.records.Contact) == 251


async def test_the_webhook_trigger_answers_202_and_hands_on_the_event(demo: Harness) -> None:
    run = await demo.trigger("acme.contact_events", fixture="fixtures/contact_event.json")
    assert run.response.status == 202
    assert run.response.body == "queued"
    assert run.output.payload == WEBHOOK  # what the bound onboarding flow starts with
    # an unsigned request is refused as the server would refuse it
    with pytest.raises(Unauthorized, match="no X-Acme-Signature header"):
        await demo.trigger("acme.contact_events", json=WEBHOOK, config={"api_url": "http://127.0.0.1:9"}, sign=False)


async def test_the_onboarding_flow_runs_every_step(demo: Harness) -> None:
    run = await demo.run_flow("acme.onboarding", fixture="fixtures/onboarding.json", strict=True)
    assert run.status == "succeeded", run.error
    assert run.steps["Get contact"].id == "c0001"
    assert run.steps.Score == {"vip": True, "tags": ["example", "com"]}
    assert run.steps["Each tag[1]/Tag"] == {"tag": "com", "index": 1}
    assert run.messages.count("tagging") == 2
