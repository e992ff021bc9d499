"""``splice env`` and ``splice keys rotate``: secrets are set, used, rotated, never shown or stored plain."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from splice.demo.server import DemoAPI
from splice.store import SecretBox

from ._cli import PROBE, add_acme, asplice, assert_error, clean_env, init_project, splice


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """An init'd project plus the ``probe`` integration, which reports ``ctx.env`` by digest."""
    root = init_project(tmp_path_factory.mktemp("env"), "my-project", ("probe.py", PROBE))
    return SimpleNamespace(root=root)


def env_digest(root: Path, name: str) -> dict[str, object]:
    result = splice("run", "probe.env_digest", "-q", "--input", json.dumps({"name": name}), cwd=root)
    assert result.code == 0, result
    return result.json()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_env_set_then_list_shows_the_name_never_the_value(project: SimpleNamespace) -> None:
    result = splice("env", "set", "API_TOKEN", "secret-value", cwd=project.root)

    assert result.code == 0, result
    assert result.stdout.strip() == "set API_TOKEN"
    assert "secret-value" not in result.stdout + result.stderr
    listed = splice("env", "list", cwd=project.root)
    assert listed.code == 0, listed
    assert "API_TOKEN" in listed.stdout.split()
    assert "secret-value" not in listed.stdout + listed.stderr
    assert env_digest(project.root, "API_TOKEN") == {"set": True, "sha256": sha256("secret-value")}


def test_env_set_reads_the_value_from_stdin(project: SimpleNamespace) -> None:
    result = splice("env", "set", "PIPED_TOKEN", cwd=project.root, input="piped secret value\n")

    assert result.code == 0, result
    assert result.stdout.strip() == "set PIPED_TOKEN"
    assert "PIPED_TOKEN" in splice("env", "list", cwd=project.root).stdout.split()
    # the trailing newline of the pipe is not part of the value
    assert env_digest(project.root, "PIPED_TOKEN") == {"set": True, "sha256": sha256("piped secret value")}


def test_env_unset(project: SimpleNamespace) -> None:
    assert splice("env", "set", "SHORT_LIVED", "x1", cwd=project.root).code == 0

    result = splice("env", "unset", "SHORT_LIVED", cwd=project.root)

    assert result.code == 0, result
    assert result.stdout.strip() == "unset SHORT_LIVED"
    assert "SHORT_LIVED" not in splice("env", "list", cwd=project.root).stdout.split()
    assert env_digest(project.root, "SHORT_LIVED") == {"set": False}


def test_env_unset_of_a_missing_variable(project: SimpleNamespace) -> None:
    assert_error(splice("env", "unset", "MISSING", cwd=project.root), "'MISSING'", "not found", hint=None)


def test_env_set_with_a_bad_name(project: SimpleNamespace) -> None:
    result = splice("env", "set", "bad-name", "x", cwd=project.root)

    assert_error(result, "invalid environment variable name 'bad-name'", "API_REGION", hint=None)
    assert "bad-name" not in splice("env", "list", cwd=project.root).stdout


def test_env_list_of_a_fresh_project(tmp_path: Path) -> None:
    root = init_project(tmp_path)

    result = splice("env", "list", cwd=root)

    assert result.code == 0, result
    assert "no variables set" in result.stdout


def stored_bytes(root: Path) -> bytes:
    files = sorted((root / ".splice").glob("splice.db*"))
    assert files, list((root / ".splice").iterdir())
    return b"".join(path.read_bytes() for path in files)


async def test_keys_rotate_re_encrypts_and_everything_keeps_working(tmp_path: Path, demo_api: DemoAPI) -> None:
    root = await asyncio.to_thread(init_project, tmp_path, "rotating", ("probe.py", PROBE))
    await asyncio.to_thread(add_acme, root, "c1", demo_api.url)
    assert (await asplice("env", "set", "API_TOKEN", "secret-value", cwd=root)).code == 0
    key_file = root / ".splice" / "secret.key"
    [old_key] = key_file.read_text().split()

    result = await asplice("keys", "rotate", cwd=root)

    assert result.code == 0, result
    assert result.stdout.strip() == "rotated the key; re-encrypted 2 secrets"
    lines = key_file.read_text().splitlines()
    assert len(lines) == 2
    assert lines[1] == old_key
    assert lines[0] != old_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert old_key not in result.stdout + result.stderr

    # drop the old key: everything was re-encrypted with the new one, so nothing needs it
    key_file.write_text(lines[0] + "\n")
    run, tested, probed = await asyncio.gather(
        asplice("run", "acme.create_contact", "-c", "c1", "--input", '{"email": "rot@example.com"}', cwd=root),
        asplice("connections", "test", "acme", "c1", cwd=root),
        asplice("run", "probe.env_digest", "--input", '{"name": "API_TOKEN"}', cwd=root),
    )
    assert run.code == 0, run
    assert run.json()["email"] == "rot@example.com"
    assert tested.code == 0, tested
    assert "ok GET /whoami" in tested.stdout
    assert probed.code == 0, probed
    assert probed.json() == {"set": True, "sha256": sha256("secret-value")}

    again = await asplice("keys", "rotate", cwd=root)
    assert again.code == 0, again
    assert len(key_file.read_text().splitlines()) == 2
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


async def test_secrets_never_reach_the_database_in_plain_text(tmp_path: Path, demo_api: DemoAPI) -> None:
    root = await asyncio.to_thread(init_project, tmp_path)
    await asyncio.to_thread(add_acme, root, "c1", demo_api.url)
    assert (await asplice("env", "set", "API_TOKEN", "env-secret-4711", cwd=root)).code == 0
    ran = await asplice("run", "acme.create_contact", "-c", "c1", "--input", '{"email": "plain@example.com"}', cwd=root)
    assert ran.code == 0, ran
    assert (await asplice("connections", "test", "acme", "c1", cwd=root)).code == 0
    assert (await asplice("keys", "rotate", cwd=root)).code == 0

    data = stored_bytes(root)

    assert b"plain@example.com" in data  # the files are readable and hold the run...
    assert b"api_key" not in data  # ...but not even the credential's field name in the clear
    assert b"demo-key" not in data
    assert b"env-secret-4711" not in data


def test_a_foreign_key_file_is_one_clear_error(tmp_path: Path) -> None:
    root = init_project(tmp_path, "my-project", ("probe.py", PROBE))
    add_acme(root, "c1", "http://127.0.0.1:9")
    assert splice("env", "set", "API_TOKEN", "secret-value", cwd=root).code == 0
    key_file = root / ".splice" / "secret.key"
    key_file.write_text(SecretBox.generate_key() + "\n")

    tested = splice("connections", "test", "acme", "c1", cwd=root)
    ran = splice("run", "probe.env_digest", "--input", '{"name": "API_TOKEN"}', cwd=root)

    assert_error(tested, "cannot decrypt stored secrets", hint="keep the old key as a later line")
    assert ran.code == 1, ran
    assert f"run {ran.run_id} failed: [DECRYPT_FAILED] cannot decrypt stored secrets" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    root = init_project(tmp_path)
    assert splice("env", "list", cwd=root).code == 0
    key_file = root / ".splice" / "secret.key"
    os.chmod(key_file, 0o644)

    result = splice("env", "list", cwd=root)

    assert_error(result, "accessible by other users", "0644", hint=f"chmod 600 {key_file}")


def test_keys_rotate_in_a_project_that_was_never_opened(tmp_path: Path) -> None:
    root = init_project(tmp_path)

    result = splice("keys", "rotate", cwd=root)

    assert result.code == 0, result
    assert "unexpected" not in result.stderr
    key_file = root / ".splice" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert splice("env", "set", "API_TOKEN", "x", cwd=root).code == 0


def test_keys_rotate_refuses_when_the_key_comes_from_the_environment(project: SimpleNamespace) -> None:
    env = clean_env(SPLICE_SECRET_KEY=SecretBox.generate_key())

    result = splice("keys", "rotate", cwd=project.root, env=env)

    assert_error(result, "SPLICE_SECRET_KEY is set", hint="prepend a new key to SPLICE_SECRET_KEY")
