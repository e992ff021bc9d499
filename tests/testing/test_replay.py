"""Record against the real demo API, stop it, replay through the harness: no network, no credentials."""

from __future__ import annotations

from pathlib import Path

import orjson
from tests.conftest import ProjectFactory
from tests.testing.conftest import MODULES, record

from splice.demo.server import DemoAPI
from splice.testing import Harness, load_fixture

KEY = "sk_live_Abc123SECRET"
TRACE = "trace-Token-9f8e7d6c5b"
CLIENT_SECRET = "client-Secret-0a1b2c3d"


async def test_record_then_replay_offline(make_project: ProjectFactory, tmp_path: Path, isolation: str) -> None:
    root = make_project(MODULES)
    fixture = tmp_path / "fixtures" / "create_contact.json"
    api = DemoAPI(contacts=10, api_keys={KEY})
    await api.start()
    try:
        await record(root, "acme.create_contact", fixture, credentials={"api_key": KEY}, config={"api_url": api.url},
                     input={"email": "ada@example.com", "name": "Ada"}, isolation=isolation)  # fmt: skip
    finally:
        await api.stop()
    run = await Harness(root, isolation=isolation, strict=True).run("acme.create_contact", fixture=fixture)
    assert run.status == "succeeded", run.error
    assert run.output.email == "ada@example.com"
    assert run.output == load_fixture(fixture).output
    assert "created contact" in run.messages


async def test_pagination_replays_every_page_in_order(
    make_project: ProjectFactory, tmp_path: Path, demo_api: DemoAPI
) -> None:
    root = make_project(MODULES)
    fixture = tmp_path / "count.json"
    await record(root, "acme.count_contacts", fixture, credentials={"api_key": "demo-key"},
                 config={"api_url": demo_api.url})  # fmt: skip
    assert len(load_fixture(fixture).exchanges) == 5  # 120 contacts, 25 a page
    run = await Harness(root, strict=True).run("acme.count_contacts", fixture=fixture)
    assert run.output.count == 120


async def test_retries_on_recorded_429s(make_project: ProjectFactory, tmp_path: Path, demo_api: DemoAPI) -> None:
    root = make_project(MODULES)
    fixture = tmp_path / "flaky.json"
    await record(root, "acme.flaky", fixture, credentials={"api_key": "demo-key"}, config={"api_url": demo_api.url},
                 input={"key": "k-retry"})  # fmt: skip
    statuses = [x.response.status for x in load_fixture(fixture).exchanges]
    assert statuses == [429, 429, 200]
    run = await Harness(root, strict=True).run("acme.flaky", fixture=fixture)
    assert run.status == "succeeded", run.error


async def test_oauth_token_request_is_replayed_at_the_recorded_time(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project(MODULES)
    fixture = tmp_path / "oauth.json"
    api = DemoAPI(contacts=1, clients={"my-client": CLIENT_SECRET})
    await api.start()
    try:
        await record(root, "oauth.whoami", fixture, credentials={"client_id": "my-client",
                     "client_secret": CLIENT_SECRET}, config={"api_url": api.url})  # fmt: skip
    finally:
        await api.stop()
    assert [x.request.url.rsplit("/", 1)[1] for x in load_fixture(fixture).exchanges] == ["token", "whoami"]
    run = await Harness(root, strict=True).run("oauth.whoami", fixture=fixture)
    assert run.status == "succeeded", run.error


async def test_no_secret_reaches_a_fixture(make_project: ProjectFactory, tmp_path: Path) -> None:
    """Record with known secrets of every kind, then scan the files' bytes for each."""
    root = make_project(MODULES)
    api = DemoAPI(contacts=3, api_keys={KEY}, clients={"my-client": CLIENT_SECRET})
    await api.start()
    try:
        await record(root, "acme.create_contact", tmp_path / "a.json", credentials={"api_key": KEY},
                     config={"api_url": api.url}, input={"email": "b@example.com"},
                     env={"TRACE_TOKEN": TRACE})  # fmt: skip
        await record(root, "byquery.whoami", tmp_path / "b.json", credentials={"api_key": KEY},
                     config={"api_url": api.url})  # fmt: skip
        after = await record(root, "oauth.whoami", tmp_path / "c.json", credentials={"client_id": "my-client",
                             "client_secret": CLIENT_SECRET}, config={"api_url": api.url})  # fmt: skip
    finally:
        await api.stop()
    token = after["access_token"]
    files = {name: (tmp_path / name).read_bytes() for name in ("a.json", "b.json", "c.json")}
    for name, data in files.items():
        for secret in (KEY, TRACE, CLIENT_SECRET, token):
            assert secret.encode() not in data, f"{secret} in {name}"
    assert b"{{secret:credentials.api_key}}" in files["a.json"]
    assert b"{{secret:env.TRACE_TOKEN}}" in files["a.json"]
    assert b'"access_token": "{{secret:credentials.access_token}}"' in files["c.json"]
    query = orjson.loads(files["b.json"])["exchanges"][0]["request"]["query"]
    assert query == [["api_key", "{{secret:credentials.api_key}}"]]
    # and each replays with the placeholders alone
    assert (await Harness(root).run("byquery.whoami", fixture=tmp_path / "b.json")).status == "succeeded"
    assert (await Harness(root).run("acme.create_contact", fixture=tmp_path / "a.json")).status == "succeeded"


async def test_the_file_is_stable_and_sorted(make_project: ProjectFactory, tmp_path: Path, demo_api: DemoAPI) -> None:
    root = make_project(MODULES)
    fixture = tmp_path / "w.json"
    await record(root, "acme.whoami_n", fixture, credentials={"api_key": "demo-key"},
                 config={"api_url": demo_api.url}, input={"n": 2})  # fmt: skip
    text = fixture.read_text()
    data = orjson.loads(text)
    assert data["format_version"] == 2
    assert text == orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
    assert "date" not in data["exchanges"][0]["response"]["headers"]


async def test_given_state_metadata_and_input_override_the_recording(
    make_project: ProjectFactory, tmp_path: Path, demo_api: DemoAPI
) -> None:
    root = make_project(MODULES)
    fixture = tmp_path / "counter.json"
    await record(root, "acme.counter", fixture, credentials={"api_key": "demo-key"}, config={"api_url": demo_api.url})
    run = await Harness(root).run("acme.counter", fixture=fixture, state={"count": 41}, metadata={"plan": "pro"})
    assert run.output == {"count": 42, "metadata": {"plan": "pro"}}


async def test_sync_returns_the_saved_records(make_project: ProjectFactory, tmp_path: Path, demo_api: DemoAPI) -> None:
    root = make_project(MODULES)
    fixture = tmp_path / "sync.json"
    await record(root, "acme.contacts", fixture, credentials={"api_key": "demo-key"}, config={"api_url": demo_api.url})
    recorded = load_fixture(fixture)
    assert recorded.kind == "sync"
    assert len(recorded.records["Contact"]) == 120
    run = await Harness(root, strict=True).run("acme.contacts", fixture=fixture)
    assert run.status == "succeeded", run.error
    assert len(run.records.Contact) == 120
    assert run.records.Contact[0].email == recorded.records["Contact"][0]["email"]
