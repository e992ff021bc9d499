"""Fixtures that cannot be replayed fail the test with what to fix: each case of issue 16."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.conftest import ProjectFactory
from tests.testing.conftest import MODULES

from splice.errors import FixtureError
from splice.testing import Harness

API = "http://127.0.0.1:9"  # nothing listens: a replay that reached the network would fail differently
T0 = "2026-11-01T12:00:00+00:00"


def whoami(url: str = f"{API}/api/whoami", query: list[list[str]] | None = None) -> dict[str, Any]:
    return {
        "request": {"method": "GET", "url": url, "query": query or [], "headers": {}, "body": None},
        "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": {"json": {"id": "u1"}}},
    }


def write(path: Path, **changes: Any) -> Path:
    data = {
        "format_version": 1,
        "script": "acme.whoami_n",
        "kind": "action",
        "recorded_at": T0,
        "connection": {"id": "c1", "config": {"api_url": API}, "metadata": {},
                       "credentials": {"api_key": "{{secret:credentials.api_key}}"}},
        "input": {"n": 1},
        "exchanges": [whoami()],
    } | changes  # fmt: skip
    path.write_bytes(orjson.dumps(data))
    return path


async def replay(root: Path, fixture: Path, **options: Any) -> Any:
    return await Harness(root, isolation="none").run("acme.whoami_n", fixture=fixture, **options)


async def test_a_hand_written_fixture_replays(make_project: ProjectFactory, tmp_path: Path) -> None:
    run = await replay(make_project(MODULES), write(tmp_path / "f.json"))
    assert run.output.calls == 1


async def test_missing_file(make_project: ProjectFactory, tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="does not exist") as caught:
        await replay(make_project(MODULES), tmp_path / "nope.json")
    assert caught.value.code == "FIXTURE_INVALID"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "is not valid JSON"),
        (b"[]", "is not a JSON object"),
        (b'{"format_version": 1, "script": "acme.whoami_n", "kind": "action", "recorded_at": "2026-11-01"}',
         "needs 'exchanges'"),
        (orjson.dumps({"format_version": 1, "script": "acme.whoami_n", "kind": "action", "recorded_at": T0,
                       "exchanges": [{"request": {"method": "GET"}, "response": {"status": 200}}]}),
         "needs a method and a url"),
    ],
)  # fmt: skip
async def test_malformed_file(make_project: ProjectFactory, tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(FixtureError, match=problem) as caught:
        await replay(make_project(MODULES), path)
    assert caught.value.code == "FIXTURE_INVALID"


async def test_fixture_of_another_script(make_project: ProjectFactory, tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match=re.escape("recorded for acme.count_contacts, not acme.whoami_n")):
        await replay(make_project(MODULES), write(tmp_path / "f.json", script="acme.count_contacts"))


async def test_a_request_not_in_the_fixture_names_it_and_the_closest(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    fixture = write(tmp_path / "f.json", exchanges=[whoami(f"{API}/api/who")])
    with pytest.raises(FixtureError) as caught:
        await replay(make_project(MODULES), fixture)
    assert caught.value.code == "FIXTURE_MISMATCH"
    assert f"GET {API}/api/whoami" in caught.value.message
    assert f"closest recorded request is GET {API}/api/who" in caught.value.message


async def test_a_repeated_request_beyond_the_recording(make_project: ProjectFactory, tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="already used") as caught:
        await replay(make_project(MODULES), write(tmp_path / "f.json"), input={"n": 2})
    assert caught.value.code == "FIXTURE_MISMATCH"


async def test_a_recorded_request_never_made_fails_only_when_strict(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project(MODULES)
    fixture = write(tmp_path / "f.json", exchanges=[whoami(), whoami()])
    assert (await replay(root, fixture)).status == "succeeded"
    with pytest.raises(FixtureError, match="were never made") as caught:
        await replay(root, fixture, strict=True)
    assert caught.value.code == "FIXTURE_UNUSED"


@pytest.mark.parametrize(
    "changes",
    [
        {"connection": {"id": "c1", "config": {"api_url": API}, "credentials": {"api_key": "sk_live_real"}}},
        {"exchanges": [whoami() | {"request": whoami()["request"] | {"headers": {"x-api-key": "sk_live_real"}}}]},
        {"exchanges": [whoami(query=[["api_key", "sk_live_real"]])]},
        {"exchanges": [whoami() | {"response": {"status": 200, "body": {"json": {"access_token": "eyJreal"}}}}]},
        {"env": {"CRM_TOKEN": "real-value"}},
    ],
)
async def test_a_secret_in_a_hand_edited_fixture_is_refused(
    make_project: ProjectFactory, tmp_path: Path, changes: dict[str, Any]
) -> None:
    with pytest.raises(FixtureError, match="looks like a secret") as caught:
        await replay(make_project(MODULES), write(tmp_path / "f.json", **changes))
    assert caught.value.code == "FIXTURE_SECRET"


async def test_a_version_1_fixture_is_migrated_as_it_is_read(make_project: ProjectFactory, tmp_path: Path) -> None:
    """Version 1 had no checkpoint or deleted ids: it reads as version 2 with none, and replays."""
    from splice.testing import FORMAT_VERSION, load_fixture

    loaded = load_fixture(write(tmp_path / "f.json", format_version=1))
    assert (FORMAT_VERSION, loaded.checkpoint, loaded.deleted) == (2, None, {})
    assert orjson.loads(loaded.dumps())["format_version"] == 2
    assert (await replay(make_project(MODULES), tmp_path / "f.json")).output.calls == 1


@pytest.mark.parametrize(("version", "says"), [(0, "cannot migrate it"), (3, "newer splice")])
async def test_another_format_version(make_project: ProjectFactory, tmp_path: Path, version: int, says: str) -> None:
    with pytest.raises(FixtureError, match=says) as caught:
        await replay(make_project(MODULES), write(tmp_path / "f.json", format_version=version))
    assert caught.value.code == "FIXTURE_VERSION"


async def test_the_clock_is_frozen_at_the_recording_and_can_be_moved(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    """A stored token good for an hour after recorded_at: replayed then, no token request; two hours
    later, the refresh it needs is not in the fixture."""
    from datetime import datetime, timedelta

    credentials = {"client_id": "my-client", "client_secret": "{{secret:credentials.client_secret}}",
                   "access_token": "{{secret:credentials.access_token}}", "token_type": "bearer",
                   "expires_at": datetime.fromisoformat(T0).timestamp() + 3600}  # fmt: skip
    fixture = write(tmp_path / "f.json", script="oauth.whoami", input=None,
                    connection={"id": "c1", "config": {"api_url": API}, "credentials": credentials})  # fmt: skip
    root = make_project(MODULES)
    run = await Harness(root, isolation="none", strict=True).run("oauth.whoami", fixture=fixture)
    assert run.output == {"id": "u1"}
    later = datetime.fromisoformat(T0) + timedelta(hours=2)
    with pytest.raises(FixtureError, match=re.escape("POST http://127.0.0.1:9/oauth/token")):
        await Harness(root, isolation="none").run("oauth.whoami", fixture=fixture, now=later)
