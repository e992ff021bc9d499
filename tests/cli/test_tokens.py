"""``splice tokens``: the secret is printed once, alone on stdout, and never again nor stored plain."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from splice.store import SecretBox, open_store

from ._cli import Result, assert_error, init_project, splice

_SECRET = re.compile(r"splice_[A-Za-z0-9_-]{43}")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    return SimpleNamespace(root=init_project(tmp_path_factory.mktemp("tokens")))


def create(root: Path, *args: str) -> tuple[str, str, Result]:
    """``splice tokens create ARGS`` → (secret, token id, result)."""
    result = splice("tokens", "create", *args, cwd=root)
    assert result.code == 0, result
    secret = result.stdout.removesuffix("\n")
    assert _SECRET.fullmatch(secret), result
    found = re.search(r"\b(tok_[0-9a-f]{12})\b", result.stderr)
    assert found, result
    return secret, found.group(1), result


def listed(root: Path, *args: str) -> list[dict[str, object]]:
    result = splice("tokens", "list", "--json", *args, cwd=root)
    assert result.code == 0, result
    rows: list[dict[str, object]] = result.json()
    return rows


def stored_bytes(root: Path) -> bytes:
    files = sorted((root / ".splice").glob("splice.db*"))
    assert files, list((root / ".splice").iterdir())
    return b"".join(path.read_bytes() for path in files)


async def verify(root: Path, secret: str) -> str | None:
    """The id of the token the project's store finds for ``secret`` (what the REST API does)."""
    secrets = SecretBox.from_environment(root / ".splice" / "secret.key")
    async with await open_store(f"sqlite:///{root / '.splice' / 'splice.db'}", secrets) as store:
        token = await store.tokens.verify(secret)
    return None if token is None else token.id


def test_create_prints_only_the_secret_on_stdout(project: SimpleNamespace) -> None:
    secret, token_id, result = create(project.root, "ci")

    assert result.stdout == secret + "\n"
    assert "will not be shown again" in result.stderr
    assert "(ci; full access)" in result.stderr
    assert secret not in result.stderr
    assert "Traceback" not in result.stderr
    [row] = [row for row in listed(project.root) if row["id"] == token_id]
    assert row["name"] == "ci"
    assert row["prefix"] == secret[:14]
    assert row["scope"] == {"read_only": False, "integrations": None, "connections": None}
    assert row["last_used_at"] is None and row["revoked_at"] is None


async def test_the_printed_secret_is_what_the_store_verifies(tmp_path: Path) -> None:
    root = init_project(tmp_path)
    secret, token_id, _ = create(root, "app")

    assert await verify(root, secret) == token_id
    assert await verify(root, secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert listed(root)[0]["last_used_at"] is not None

    assert splice("tokens", "revoke", token_id, cwd=root).code == 0
    assert await verify(root, secret) is None


def test_create_with_a_scope(project: SimpleNamespace) -> None:
    _, token_id, result = create(
        project.root, "reporting", "--read-only", "--integration", "acme", "-i", "beta", "--connection", "c1"
    )

    assert "read-only, integrations: acme, beta; connections: c1" in result.stderr
    [row] = [row for row in listed(project.root) if row["id"] == token_id]
    assert row["scope"] == {"read_only": True, "integrations": ["acme", "beta"], "connections": ["c1"]}


def test_list_shows_the_tokens_but_never_a_secret(project: SimpleNamespace) -> None:
    secret, token_id, _ = create(project.root, "listed-one", "--integration", "acme")

    table = splice("tokens", "list", cwd=project.root)
    as_json = splice("tokens", "list", "--json", cwd=project.root)
    everything = splice("tokens", "list", "--all", "--json", cwd=project.root)

    assert table.code == 0, table
    assert token_id in table.stdout
    assert "listed-one" in table.stdout
    assert f"{secret[:14]}…" in table.stdout
    assert "integrations: acme" in table.stdout
    for result in (table, as_json, everything):
        assert secret not in result.stdout + result.stderr
        assert secret[14:] not in result.stdout + result.stderr
        assert not _SECRET.search(result.stdout)


def test_revoke_hides_the_token_unless_all(project: SimpleNamespace) -> None:
    _, token_id, _ = create(project.root, "short-lived")

    result = splice("tokens", "revoke", token_id, cwd=project.root)

    assert result.code == 0, result
    assert result.stdout.strip() == f"revoked token {token_id} (short-lived)"
    assert token_id not in [row["id"] for row in listed(project.root)]
    [row] = [row for row in listed(project.root, "--all") if row["id"] == token_id]
    assert row["revoked_at"] is not None
    table = splice("tokens", "list", "--all", cwd=project.root)
    assert token_id in table.stdout

    again = splice("tokens", "revoke", token_id, cwd=project.root)
    assert again.code == 0, again
    assert f"token {token_id} (short-lived) was already revoked on " in again.stdout
    assert [r for r in listed(project.root, "--all") if r["id"] == token_id] == [row]


def test_revoke_of_an_unknown_id(project: SimpleNamespace) -> None:
    result = splice("tokens", "revoke", "tok_000000000000", cwd=project.root)

    assert_error(result, "access token 'tok_000000000000' not found", hint="splice tokens list")


@pytest.mark.parametrize("name", ["", "   ", "x" * 129])
def test_create_with_a_bad_name(project: SimpleNamespace, name: str) -> None:
    before = listed(project.root, "--all")

    result = splice("tokens", "create", name, cwd=project.root)

    assert_error(result, "invalid token name", hint="splice tokens create ci-deploy")
    assert listed(project.root, "--all") == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--integration", ""), "invalid integration ''"),
        (("--connection", "c/1"), "invalid connection id 'c/1'"),
    ],
)
def test_create_with_a_bad_scope(project: SimpleNamespace, args: tuple[str, ...], fragment: str) -> None:
    result = splice("tokens", "create", "scoped", *args, cwd=project.root)

    assert_error(result, fragment, hint="splice connections list")


def test_list_of_a_fresh_project(tmp_path: Path) -> None:
    root = init_project(tmp_path)

    result = splice("tokens", "list", cwd=root)

    assert result.code == 0, result
    assert "no access tokens yet" in result.stdout
    assert splice("tokens", "list", "--json", cwd=root).json() == []


def test_secrets_never_reach_the_database_in_plain_text(tmp_path: Path) -> None:
    root = init_project(tmp_path)
    secrets = [create(root, f"app-{i}")[0] for i in range(3)]

    data = stored_bytes(root)

    assert b"app-1" in data  # the files are readable and hold the tokens...
    for secret in secrets:
        assert secret[:14].encode() in data  # ...and the prefix shown in lists...
        assert secret[14:].encode() not in data  # ...but not the rest of the secret
