"""Secrets at rest: connection credentials and operator env vars are Fernet-encrypted.

Keys come from ``SPLICE_SECRET_KEY`` (comma-separated) or a key file (one per line); the
first key encrypts, every key decrypts, so rotating is "prepend a key, re-encrypt, later drop
the old one". A missing key file is created with a fresh key, mode 0600 from the first byte.
No message here ever contains a key.

Bulk data (sync records) is not Fernet-encrypted, which costs ~9 µs a 1 KB record: the box
hands out AES-256 keys derived from its keys with HKDF-SHA256 (:meth:`SecretBox.derive_key`),
one per purpose, each with a short id stored beside the ciphertext so data written under an
older primary key still opens (:meth:`SecretBox.derived_keys`).

>>> box = SecretBox.from_environment(Path(".splice/secret.key"))
>>> box.decrypt(box.encrypt({"api_key": "k"}))
{'api_key': 'k'}
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from splice.errors import InvalidInput, SpliceError

ENV_VAR = "SPLICE_SECRET_KEY"
#: bytes of a derived key's id (see :meth:`SecretBox.derive_key`)
KEY_ID_BYTES = 4
_NEW_KEY_HINT = (
    "generate one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


def _fernet(key: str | bytes, where: str) -> Fernet:
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        raise InvalidInput(
            f"{where} is not a valid Fernet key (32 url-safe base64-encoded bytes)",
            code="INVALID_SECRET_KEY",
            hint=_NEW_KEY_HINT,
        ) from None


class SecretBox:
    """Encrypts JSON values with the primary key and decrypts with any configured key."""

    def __init__(self, keys: Sequence[str | bytes], *, source: str = "secret key") -> None:
        if not keys:
            raise InvalidInput(f"{source} holds no key", code="INVALID_SECRET_KEY", hint=_NEW_KEY_HINT)
        fernets = [_fernet(key, f"key {i} of {source}") for i, key in enumerate(keys, 1)]
        self._fernet = MultiFernet(fernets)
        # the 32 bytes behind each Fernet key (already validated by Fernet), input to HKDF
        self._materials = [base64.urlsafe_b64decode(key) for key in keys]
        self.key_count = len(keys)
        self.source = source

    def __repr__(self) -> str:
        return f"SecretBox(keys={self.key_count}, source={self.source!r})"

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    @classmethod
    def generate(cls) -> SecretBox:
        """A box with one fresh key (tests, throwaway stores)."""
        return cls([cls.generate_key()], source="generated key")

    @classmethod
    def from_environment(cls, key_file: Path) -> SecretBox:
        """Keys from ``SPLICE_SECRET_KEY`` if set, else from ``key_file`` (created if missing)."""
        value = os.environ.get(ENV_VAR)
        if value is not None:
            keys = [part.strip() for part in value.split(",") if part.strip()]
            return cls(keys, source=ENV_VAR)
        key_file = Path(key_file)
        if not key_file.exists():
            _create_key_file(key_file)
        return cls(_read_key_file(key_file), source=f"key file {key_file}")

    @classmethod
    def rotate_key_file(cls, key_file: Path) -> SecretBox:
        """Prepend a new primary key to ``key_file``; old keys stay so old data still opens.

        Follow with :meth:`Store.rotate_secrets` to re-encrypt everything with the new key.
        """
        key_file = Path(key_file)
        keys = _read_key_file(key_file) if key_file.exists() else []
        keys.insert(0, cls.generate_key())
        _write_private(key_file, keys, replace=True)
        return cls(keys, source=f"key file {key_file}")

    def encrypt(self, obj: Any) -> bytes:
        """``obj`` as JSON, encrypted with the primary key."""
        try:
            plain = orjson.dumps(obj)
        except TypeError as exc:
            raise InvalidInput(f"secret value is not JSON-serialisable: {exc}") from None
        return self._fernet.encrypt(plain)

    def decrypt(self, token: bytes) -> Any:
        try:
            plain = self._fernet.decrypt(bytes(token))
        except InvalidToken:
            raise SpliceError(
                "cannot decrypt stored secrets: none of the configured secret keys opens them (the secret key changed)",
                code="DECRYPT_FAILED",
                hint=f"restore the previous key in {ENV_VAR} or the key file; to rotate keys, "
                "keep the old key as a later line",
            ) from None
        return orjson.loads(plain)

    def derive_key(self, purpose: str) -> tuple[bytes, bytes]:
        """``(key_id, key)``: a 256-bit key for ``purpose`` derived from the primary key.

        HKDF-SHA256 with ``info = "splice:" + purpose``, so each purpose gets an independent
        key and none of them reveals the Fernet key. ``key_id`` (4 bytes) is a fingerprint of
        the derived key, to store beside what it encrypts; look it up in
        :meth:`derived_keys` to decrypt.

        >>> key_id, key = box.derive_key("records")
        """
        return _derive(self._materials[0], purpose)

    def derived_keys(self, purpose: str) -> dict[bytes, bytes]:
        """``{key_id: key}`` for ``purpose``, one per configured key (primary first)."""
        keys: dict[bytes, bytes] = {}
        for material in self._materials:
            key_id, key = _derive(material, purpose)
            keys.setdefault(key_id, key)
        return keys

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt ``token`` with the primary key (DECRYPT_FAILED if no key opens it)."""
        try:
            return self._fernet.rotate(bytes(token))
        except InvalidToken:
            self.decrypt(token)  # raises the explanatory DECRYPT_FAILED
            raise


def _derive(material: bytes, purpose: str) -> tuple[bytes, bytes]:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"splice:{purpose}".encode())
    key = hkdf.derive(material)
    key_id = hashlib.blake2b(key, digest_size=KEY_ID_BYTES, person=b"splice-key-id").digest()
    return key_id, key


def _read_key_file(path: Path) -> list[str]:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise InvalidInput(f"cannot read key file {path}: {exc.strerror}", code="INVALID_SECRET_KEY") from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if os.name == "posix" and mode & 0o077:
            raise InvalidInput(
                f"key file {path} is accessible by other users (mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}",
                code="INSECURE_KEY_FILE",
                hint=f"chmod 600 {path}",
            )
        text = handle.read().decode("utf-8", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _create_key_file(path: Path) -> None:
    """Create ``path`` with one new key, never leaving a partly written file visible.

    The key goes into a private temporary file that is then hard-linked into place, so a
    second process creating the file at the same moment either wins or reads ours.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = _write_temp(path, [SecretBox.generate_key()])
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    except OSError:  # no hard links on this filesystem: exclusive create instead
        with contextlib.suppress(FileExistsError):
            _write_private(path, [SecretBox.generate_key()], replace=False)
    finally:
        tmp.unlink(missing_ok=True)


def _write_private(path: Path, keys: list[str], *, replace: bool) -> None:
    if replace:
        tmp = _write_temp(path, keys)
        os.replace(tmp, path)
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(keys) + "\n")


def _write_temp(path: Path, keys: list[str]) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(keys) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return tmp
