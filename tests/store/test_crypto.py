from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from splice.errors import InvalidInput, SpliceError
from splice.store import SecretBox
from splice.store._crypto import ENV_VAR


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_round_trip_json_values() -> None:
    box = SecretBox.generate()
    value = {"api_key": "k-123", "nested": [1, 2.5, None, True], "ünï": "cödé"}
    token = box.encrypt(value)
    assert isinstance(token, bytes)
    assert b"k-123" not in token
    assert box.decrypt(token) == value
    assert box.decrypt(box.encrypt("plain string")) == "plain string"


def test_not_json_serialisable_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        SecretBox.generate().encrypt({"when": object()})


def test_wrong_key_is_decrypt_failed() -> None:
    token = SecretBox.generate().encrypt({"api_key": "x"})
    with pytest.raises(SpliceError) as info:
        SecretBox.generate().decrypt(token)
    assert info.value.code == "DECRYPT_FAILED"
    assert "secret key changed" in info.value.message


def test_repr_never_shows_keys() -> None:
    key = SecretBox.generate_key()
    box = SecretBox([key], source="test")
    assert key not in repr(box)
    assert "keys=1" in repr(box)


def test_key_file_created_private_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "nested" / "secret.key"
    box = SecretBox.from_environment(key_file)
    assert key_file.exists()
    assert _mode(key_file) == 0o600
    key = key_file.read_text().strip()
    Fernet(key)  # a real key
    again = SecretBox.from_environment(key_file)
    assert again.decrypt(box.encrypt({"a": 1})) == {"a": 1}
    assert not [p for p in key_file.parent.iterdir() if p.name.endswith(".tmp")]


def test_key_file_created_private_even_with_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        SecretBox.from_environment(tmp_path / "secret.key")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "secret.key") == 0o600


def test_concurrent_creation_agrees_on_one_key(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    boxes: list[SecretBox] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait()
        boxes.append(SecretBox.from_environment(key_file))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    token = boxes[0].encrypt("x")
    assert all(box.decrypt(token) == "x" for box in boxes)
    assert len(key_file.read_text().split()) == 1


def test_insecure_key_file_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_text(SecretBox.generate_key() + "\n")
    key_file.chmod(0o644)
    with pytest.raises(InvalidInput) as info:
        SecretBox.from_environment(key_file)
    assert info.value.code == "INSECURE_KEY_FILE"
    assert "chmod 600" in info.value.message
    assert str(key_file) in info.value.message


def test_malformed_key_file_never_prints_key(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"not-a-real-fernet-key-0123456789\n")
    os.close(fd)
    with pytest.raises(InvalidInput) as info:
        SecretBox.from_environment(key_file)
    assert info.value.code == "INVALID_SECRET_KEY"
    assert "not-a-real-fernet-key" not in str(info.value.to_dict())
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_empty_key_file_is_invalid(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"# only a comment\n\n")
    os.close(fd)
    with pytest.raises(InvalidInput) as info:
        SecretBox.from_environment(key_file)
    assert info.value.code == "INVALID_SECRET_KEY"


def test_environment_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    primary, older = SecretBox.generate_key(), SecretBox.generate_key()
    monkeypatch.setenv(ENV_VAR, f"{primary}, {older}")
    box = SecretBox.from_environment(tmp_path / "secret.key")
    assert not (tmp_path / "secret.key").exists()
    assert box.key_count == 2
    assert SecretBox([primary]).decrypt(box.encrypt("x")) == "x"  # first key encrypts
    assert box.decrypt(SecretBox([older]).encrypt("y")) == "y"  # every key decrypts


@pytest.mark.parametrize("value", ["", " , ", "bogus-key-value"])
def test_bad_environment_variable(value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(InvalidInput) as info:
        SecretBox.from_environment(tmp_path / "secret.key")
    assert info.value.code == "INVALID_SECRET_KEY"
    assert ENV_VAR in info.value.message
    if value.strip(" ,"):
        assert value not in info.value.message


def test_rotate_key_file_prepends_a_key(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    old_box = SecretBox.from_environment(key_file)
    old_key = key_file.read_text().strip()
    token = old_box.encrypt({"a": 1})
    new_box = SecretBox.rotate_key_file(key_file)
    lines = key_file.read_text().split()
    assert len(lines) == 2 and lines[1] == old_key and lines[0] != old_key
    assert _mode(key_file) == 0o600
    assert new_box.decrypt(token) == {"a": 1}
    rotated = new_box.rotate(token)
    assert SecretBox([lines[0]]).decrypt(rotated) == {"a": 1}
    assert SecretBox.from_environment(key_file).key_count == 2


def test_rotate_with_unknown_token_is_decrypt_failed() -> None:
    with pytest.raises(SpliceError) as info:
        SecretBox.generate().rotate(SecretBox.generate().encrypt(1))
    assert info.value.code == "DECRYPT_FAILED"
