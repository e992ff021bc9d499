"""An API key the API refuses: ``CREDENTIALS_REJECTED`` with the API's answer, not an expired token."""

from __future__ import annotations

from pathlib import Path

from splice.demo.server import DemoAPI

from ._cli import add_acme, assert_error, init_project, splice


def test_a_refused_api_key_fails_the_run_quoting_the_api_and_leaves_the_connection_alone(
    tmp_path: Path, shared_api: DemoAPI
) -> None:
    root = init_project(tmp_path)
    add_acme(root, "c1", shared_api.url, api_key="revoked-key-4711")

    result = splice("run", "acme.count_contacts", "-c", "c1", cwd=root)

    assert result.code == 1, result
    failure = [line for line in result.stderr.splitlines() if " failed: " in line]
    assert len(failure) == 1, result
    assert "[CREDENTIALS_REJECTED]" in failure[0], result
    assert "401 Unauthorized" in failure[0] and "missing or invalid credentials" in failure[0], result  # the API's body
    assert "hint: replace the credentials of connection acme/c1" in result.stderr, result
    assert "revoked-key-4711" not in result.stdout + result.stderr
    # one endpoint's 401 does not mark the connection: fixing the key is enough, nothing to clear
    listed = splice("connections", "list", "--json", cwd=root)
    assert [(c["id"], c["status"]) for c in listed.json()] == [("c1", "ok")]


def test_connections_test_says_the_credentials_were_rejected(tmp_path: Path, shared_api: DemoAPI) -> None:
    root = init_project(tmp_path)
    add_acme(root, "c1", shared_api.url, api_key="revoked-key-4711")

    result = splice("connections", "test", "acme", "c1", cwd=root)

    assert_error(result, "GET", "/whoami", "the API refused the credentials", "missing or invalid credentials")
    assert "revoked-key-4711" not in result.stderr
