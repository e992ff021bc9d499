"""``splice connections add|list|show|test|delete`` in a project made by ``splice init``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from splice.demo.server import DemoAPI
from splice.runtime import Runtime

from ._cli import Result, add_acme, assert_error, init_project, splice


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, shared_api: DemoAPI) -> SimpleNamespace:
    """An init'd project with connection ``c1`` (api key ``demo-key``) to the module's demo API."""
    root = init_project(tmp_path_factory.mktemp("connections"))
    added = add_acme(root, "c1", shared_api.url)
    return SimpleNamespace(root=root, url=shared_api.url, added=added)


def connections(root: Path, *args: str) -> Result:
    return splice("connections", *args, cwd=root)


def test_add_confirms_without_echoing_the_secret(project: SimpleNamespace) -> None:
    assert project.added.stdout.strip() == "added connection c1 to acme (credentials: api_key)"
    assert project.added.stderr == ""


def test_list_prints_a_table_without_credentials(project: SimpleNamespace) -> None:
    result = connections(project.root, "list")

    assert result.code == 0, result
    header = next(line for line in result.stdout.splitlines() if "integration" in line)
    for column in ("integration", "id", "status", "credentials", "created"):
        assert column in header
    row = next(line for line in result.stdout.splitlines() if " c1 " in line)
    assert "acme" in row
    assert "ok" in row
    assert "api_key" in row
    assert "demo-key" not in result.stdout + result.stderr


def test_list_json_has_credential_fields_but_no_values(project: SimpleNamespace) -> None:
    result = connections(project.root, "list", "--json")

    assert result.code == 0, result
    entries = result.json()
    assert isinstance(entries, list)
    c1 = next(e for e in entries if e["id"] == "c1")
    assert c1["integration"] == "acme"
    assert c1["credential_fields"] == ["api_key"]
    assert c1["config"] == {"api_url": project.url}
    assert c1["status"] == "ok"
    assert "credentials" not in c1
    assert "demo-key" not in result.stdout


def test_list_of_one_integration_and_of_an_unknown_one(project: SimpleNamespace) -> None:
    result = connections(project.root, "list", "acme", "--json")
    assert result.code == 0, result
    assert {e["integration"] for e in result.json()} == {"acme"}

    assert_error(connections(project.root, "list", "nope"), "unknown integration 'nope'", "acme")


def test_show_prints_json_without_the_secret(project: SimpleNamespace) -> None:
    result = connections(project.root, "show", "acme", "c1")

    assert result.code == 0, result
    shown = result.json()
    assert shown["id"] == "c1"
    assert shown["integration"] == "acme"
    assert shown["credential_fields"] == ["api_key"]
    assert shown["config"] == {"api_url": project.url}
    assert {"created_at", "updated_at", "metadata", "status"} <= set(shown)
    assert "credentials" not in shown
    assert "demo-key" not in result.stdout


def test_show_of_a_missing_connection(project: SimpleNamespace) -> None:
    assert_error(connections(project.root, "show", "acme", "nobody"), "connection 'nobody'", "not found")


def test_test_calls_the_api(project: SimpleNamespace) -> None:
    result = connections(project.root, "test", "acme", "c1")

    assert result.code == 0, result
    assert result.stdout.strip() == "ok GET /whoami → 200"


def test_test_with_a_wrong_key_fails_clearly_without_echoing_it(project: SimpleNamespace) -> None:
    add_acme(project.root, "wrong", project.url, api_key="wrong-key-4711")

    result = connections(project.root, "test", "acme", "wrong")

    assert_error(result, "/whoami", "401", hint="credentials")
    assert "wrong-key-4711" not in result.stderr


def test_add_with_an_existing_id_fails(project: SimpleNamespace) -> None:
    result = connections(
        project.root, "add", "acme", "c1", "--credential", "api_key=other", "--config", f"api_url={project.url}"
    )

    assert_error(result, "'c1'", "already exists", hint="splice connections delete acme c1")
    # the stored connection is untouched
    assert connections(project.root, "test", "acme", "c1").code == 0


def test_add_without_a_required_credential_names_it(project: SimpleNamespace) -> None:
    result = connections(project.root, "add", "acme", "c9", "--config", f"api_url={project.url}")

    assert_error(result, "api_key", hint="--credential api_key=")
    assert_error(connections(project.root, "show", "acme", "c9"), "not found")


def test_add_to_an_unknown_integration_lists_the_known_ones(project: SimpleNamespace) -> None:
    result = connections(project.root, "add", "salesforce", "c1", "--credential", "api_key=x")

    assert_error(result, "unknown integration 'salesforce'", "(this project has: acme)", hint="integrations/")


@pytest.mark.parametrize(
    ("args", "fragments", "hint"),
    [
        pytest.param(["--credentials-json", "{bad"], ["--credentials-json is not valid JSON"], "@file", id="bad-json"),
        pytest.param(["--credentials-json", "[1]"], ["--credentials-json must be a JSON object"], None, id="array"),
        pytest.param(["--credential", "api_key"], ["'api_key' is not NAME=VALUE"], "name=value", id="no-equals"),
        pytest.param(["--credential", "api_key=@/no/such/key"], ["cannot read credential file"], None, id="no-file"),
    ],
)
def test_add_with_malformed_credentials_is_one_clear_error(
    project: SimpleNamespace, args: list[str], fragments: list[str], hint: str | None
) -> None:
    result = connections(project.root, "add", "acme", "c8", *args)

    assert_error(result, *fragments, hint=hint)


def test_add_credentials_json_from_stdin_and_config_json(project: SimpleNamespace) -> None:
    result = splice(
        "connections", "add", "acme", "from-stdin", "--credentials-json", "-",
        "--config-json", json.dumps({"api_url": project.url}), "--metadata-json", '{"plan": "pro"}',
        cwd=project.root, input='{"api_key": "demo-key"}\n',
    )  # fmt: skip

    assert result.code == 0, result
    assert "added connection from-stdin" in result.stdout
    shown = connections(project.root, "show", "acme", "from-stdin").json()
    assert shown["metadata"] == {"plan": "pro"}
    assert connections(project.root, "test", "acme", "from-stdin").code == 0


def test_add_credential_from_a_file(project: SimpleNamespace, tmp_path: Path) -> None:
    (tmp_path / "key.txt").write_text("demo-key\n")

    result = connections(
        project.root, "add", "acme", "from-file", "--credential", f"api_key=@{tmp_path / 'key.txt'}",
        "--config", f"api_url={project.url}",
    )  # fmt: skip

    assert result.code == 0, result
    tested = connections(project.root, "test", "acme", "from-file")
    assert tested.code == 0, tested  # the trailing newline of the file is not part of the key


def test_delete_with_yes(project: SimpleNamespace) -> None:
    add_acme(project.root, "to-delete", project.url)

    result = connections(project.root, "delete", "acme", "to-delete", "--yes")

    assert result.code == 0, result
    assert result.stdout.strip() == "deleted connection to-delete of acme"
    assert_error(connections(project.root, "show", "acme", "to-delete"), "not found")
    assert_error(connections(project.root, "delete", "acme", "to-delete", "--yes"), "not found", hint=True)


def test_delete_asks_first(project: SimpleNamespace) -> None:
    add_acme(project.root, "keep-me", project.url)

    declined = splice("connections", "delete", "acme", "keep-me", cwd=project.root, input="n\n")
    assert declined.code == 1, declined
    assert "delete connection keep-me of acme?" in declined.stdout
    assert "Aborted" in declined.stderr
    assert connections(project.root, "show", "acme", "keep-me").code == 0

    confirmed = splice("connections", "delete", "acme", "keep-me", cwd=project.root, input="y\n")
    assert confirmed.code == 0, confirmed
    assert "deleted connection keep-me of acme" in confirmed.stdout


def mark_broken(root: Path, connection_id: str) -> None:
    """What a refused refresh leaves behind: the connection's status ``error`` (set through the store)."""

    async def mark() -> None:
        async with await Runtime.open(root) as rt:
            await rt.store.connections.set_status("acme", connection_id, "error", {"code": "REFRESH_FAILED"})

    asyncio.run(mark())


def test_update_replaces_broken_credentials_tests_them_and_clears_the_error(project: SimpleNamespace) -> None:
    add_acme(project.root, "broken", project.url, api_key="wrong-key-4711")
    mark_broken(project.root, "broken")
    assert connections(project.root, "show", "acme", "broken").json()["status"] == "error"

    result = connections(project.root, "update", "acme", "broken", "--credential", "api_key=demo-key")

    assert result.code == 0, result
    assert result.stdout.splitlines() == [
        "updated credentials of connection broken of acme",
        "tested ok GET /whoami → 200",
    ]
    shown = connections(project.root, "show", "acme", "broken").json()
    assert shown["status"] == "ok" and shown["status_error"] is None
    assert "demo-key" not in result.stdout + result.stderr


def test_update_whose_test_fails_keeps_the_new_values_and_says_so(project: SimpleNamespace) -> None:
    add_acme(project.root, "rekeyed", project.url)

    result = connections(
        project.root, "update", "acme", "rekeyed", "--credential", "api_key=typo-4711", "--metadata-json", '{"a": 1}'
    )

    error = assert_error(result, "connection rekeyed was updated, but its test failed:", "401", only=False)
    assert "typo-4711" not in result.stdout + result.stderr
    assert result.stdout.strip() == "updated credentials and metadata of connection rekeyed of acme"
    assert any(
        line.startswith("hint: the new credentials and metadata are stored") for line in result.stderr.splitlines()
    )
    assert "splice connections update acme rekeyed" in result.stderr, error
    assert connections(project.root, "show", "acme", "rekeyed").json()["metadata"] == {"a": 1}
    assert connections(project.root, "test", "acme", "rekeyed").code == 1  # the new key is the one stored


def test_update_config_from_json_and_pairs(project: SimpleNamespace) -> None:
    add_acme(project.root, "moved", "http://127.0.0.1:9")
    assert connections(project.root, "test", "acme", "moved").code == 1

    result = splice(
        "connections", "update", "acme", "moved", "--config-json", "-", cwd=project.root,
        input=json.dumps({"api_url": project.url}),
    )  # fmt: skip

    assert result.code == 0, result
    assert "tested ok GET /whoami → 200" in result.stdout
    assert connections(project.root, "show", "acme", "moved").json()["config"] == {"api_url": project.url}


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        pytest.param([], ["nothing to update"], id="nothing"),
        pytest.param(["--credential", "api_kee=x"], ["credentials need api_key"], id="missing-field"),
        pytest.param(["--credentials-json", "[1]"], ["--credentials-json must be a JSON object"], id="array"),
        pytest.param(["--metadata-json", "[1]"], ["metadata must be a JSON object"], id="metadata"),
    ],
)
def test_update_with_bad_values_changes_nothing(
    project: SimpleNamespace, args: list[str], fragments: list[str]
) -> None:
    before = connections(project.root, "show", "acme", "c1").json()

    assert_error(connections(project.root, "update", "acme", "c1", *args), *fragments, hint=None)

    assert connections(project.root, "show", "acme", "c1").json() == before
    assert connections(project.root, "test", "acme", "c1").code == 0


def test_update_of_a_missing_connection_is_not_found(project: SimpleNamespace) -> None:
    result = connections(project.root, "update", "acme", "nobody", "--credential", "api_key=demo-key")

    assert_error(result, "connection 'nobody'", "not found", hint=None)
