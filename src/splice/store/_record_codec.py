"""I/O-free pieces of the record store: streams, item checks, hashing, encryption, cursors.

Everything here is plain functions over bytes and dicts, so the hot path of
:mod:`splice.store._records` stays a few SQL statements per batch and these parts are
tested without a database.

* An item's canonical form is ``orjson.dumps(item, OPT_SORT_KEYS)``, strict (datetimes,
  dataclasses and non-string keys are refused, as everywhere in the store, so a record reads
  back exactly as it was saved). Its content hash is blake2b-128 of that form; the same bytes
  are what gets encrypted, so a record reads back with its keys sorted.
* Payloads are AES-256-GCM: ``version (1) | key id (4) | nonce (12) | ciphertext + tag``,
  with the stream id and record id as associated data, so a payload copied onto another
  record does not open. The key is derived from the store's :class:`SecretBox` (HKDF), and
  every key of the box can decrypt. Nonces are random (96 bits): NIST's limit of 2^32
  encryptions per key means rotating the secret key after a few billion record writes.
* A reader's cursor is opaque: base64url of ``"1:<stream tag>:<stream id>"``, a dot, and the
  record's cursor in hex (cheap to build for every record of a page). The tag (a hash of
  integration, connection and model) tells a cursor from another stream; the stream id tells
  one issued before a reset.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from splice.errors import InvalidInput, SpliceError
from splice.store._crypto import KEY_ID_BYTES, SecretBox

#: largest record accepted, in bytes of canonical JSON
MAX_RECORD_BYTES = 1 << 20
#: longest record id accepted (characters)
MAX_ID_LENGTH = 512
#: the key in a read record that holds splice's metadata; stripped from saved items
META_KEY = "_splice"
KEY_PURPOSE = "records"

_DUMP_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_FORMAT = b"\x01"
_HEADER = len(_FORMAT) + KEY_ID_BYTES
_NONCE = 12
_NAME = re.compile(r"[A-Za-z0-9._:@-]{1,128}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HEX = re.compile(r"[0-9a-f]{1,16}")


@dataclass(frozen=True, slots=True)
class Stream:
    """Where records live: one model of one integration for one connection.

    >>> Stream("acme", "c1", "Contact")
    """

    integration: str
    connection_id: str
    model: str

    def __post_init__(self) -> None:
        for field in ("integration", "connection_id", "model"):
            value = getattr(self, field)
            if not isinstance(value, str) or not _NAME.fullmatch(value):
                raise InvalidInput(
                    f"invalid {field} {value!r}: use 1-128 characters of letters, digits and . _ : @ -",
                    details={"field": field},
                )

    @property
    def tag(self) -> str:
        """A short fingerprint of the stream, embedded in its cursors."""
        text = f"{self.integration}\0{self.connection_id}\0{self.model}".encode()
        return hashlib.blake2b(text, digest_size=6).hexdigest()


#: one checked item: (id as stored, canonical JSON, content hash); a tuple for speed
Prepared = tuple[str, bytes, bytes]


# --- items -------------------------------------------------------------------------------


def item_id(item: Any, index: int) -> str | int:
    """The id of ``item`` (str or int), or InvalidInput naming its index in the batch."""
    if not isinstance(item, dict):
        raise InvalidInput(
            f"item {index} is a {type(item).__name__}, not a dict",
            code="INVALID_RECORD",
            details={"index": index},
        )
    value = item.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        what = "has no id" if value is None or value == "" else f"has an id of type {type(value).__name__}"
        raise InvalidInput(
            f"item {index} {what}: every record needs an 'id' that is a string or an integer",
            code="INVALID_RECORD",
            details={"index": index},
        )
    return value


def batch_ids(items: list[Any]) -> list[str]:
    """Every item's id as a string; InvalidInput for a missing id or a mix of int and str."""
    if not isinstance(items, list | tuple):
        raise InvalidInput(f"records must be a list of dicts, not {type(items).__name__}")
    raw = [item_id(item, i) for i, item in enumerate(items)]
    check_id_types(raw)
    return [str(value) for value in raw]


def check_id_types(ids: list[str | int]) -> None:
    if len({isinstance(value, str) for value in ids}) > 1:
        first_int = next(i for i, v in enumerate(ids) if not isinstance(v, str))
        first_str = next(i for i, v in enumerate(ids) if isinstance(v, str))
        raise InvalidInput(
            f"a batch mixes integer and string ids (item {first_int} has an int, item {first_str} a str); "
            "ids are compared as strings, so 1 and '1' would be the same record: use one type",
            code="MIXED_ID_TYPES",
            details={"int_index": first_int, "str_index": first_str},
        )


def prepare(latest: dict[str, dict[str, Any]], max_bytes: int) -> tuple[list[Prepared], list[dict[str, str]]]:
    """Every item in canonical form with its hash, and ``{"id", "reason"}`` for those left out.

    The hot loop of ``save`` (~4 µs a 1 KB record, nearly all orjson and blake2b).
    """
    prepared: list[Prepared] = []
    rejected: list[dict[str, str]] = []
    dumps, blake2b, keep = orjson.dumps, hashlib.blake2b, prepared.append
    for record_id, item in latest.items():
        if META_KEY in item:
            item = {k: v for k, v in item.items() if k != META_KEY}
        try:
            plain = dumps(item, option=_DUMP_OPTIONS)
        except TypeError as exc:
            rejected.append({"id": record_id, "reason": f"not JSON-serialisable: {exc}"})
            continue
        if len(plain) > max_bytes or len(record_id) > MAX_ID_LENGTH:
            rejected.append({"id": record_id[:MAX_ID_LENGTH], "reason": _too_big(record_id, plain, max_bytes)})
            continue
        keep((record_id, plain, blake2b(plain, digest_size=16).digest()))
    return prepared, rejected


def _too_big(record_id: str, plain: bytes, max_bytes: int) -> str:
    if len(record_id) > MAX_ID_LENGTH:
        return f"id longer than {MAX_ID_LENGTH} characters"
    return f"record is {len(plain):,} bytes of JSON, over the limit of {max_bytes:,}"


def last_wins(items: list[dict[str, Any]], ids: list[str]) -> dict[str, dict[str, Any]]:
    """``{id: item}`` keeping the last item of each id (in order of first appearance)."""
    return dict(zip(ids, items, strict=True))


def deep_merge(stored: Any, patch: Any) -> Any:
    """``patch`` merged into ``stored``: dicts recursively, any other value replaced."""
    if not isinstance(stored, dict) or not isinstance(patch, dict):
        return patch
    merged = dict(stored)
    for key, value in patch.items():
        merged[key] = deep_merge(merged[key], value) if key in merged else value
    return merged


# --- encryption --------------------------------------------------------------------------


class RecordCipher:
    """AES-256-GCM for record payloads, keyed from a :class:`SecretBox` (see module doc)."""

    __slots__ = ("_decrypters", "_encrypter", "_prefix")

    def __init__(self, secrets: SecretBox) -> None:
        key_id, key = secrets.derive_key(KEY_PURPOSE)
        self._prefix = _FORMAT + key_id
        self._encrypter = AESGCM(key)
        self._decrypters = {kid: AESGCM(k) for kid, k in secrets.derived_keys(KEY_PURPOSE).items()}

    def encrypt_many(self, stream_id: int, items: list[Prepared]) -> list[bytes]:
        """Encrypt prepared items' JSON; one ``os.urandom`` call for all the nonces."""
        nonces = os.urandom(_NONCE * len(items))
        encrypt, prefix, sid = self._encrypter.encrypt, self._prefix, f"{stream_id}:"
        out: list[bytes] = []
        keep = out.append
        for i, (record_id, plain, _) in enumerate(items):
            nonce = nonces[i * _NONCE : (i + 1) * _NONCE]
            keep(b"".join((prefix, nonce, encrypt(nonce, plain, (sid + record_id).encode()))))
        return out

    def decrypt(self, stream_id: int, record_id: str, blob: bytes) -> bytes:
        return self.decrypt_many(stream_id, [(record_id, blob)])[0]

    def decrypt_many(self, stream_id: int, pairs: list[tuple[str, bytes]]) -> list[bytes]:
        """Decrypt ``(record_id, payload)`` pairs (DECRYPT_FAILED naming the first that fails)."""
        out: list[bytes] = []
        keep, sid, decrypters = out.append, f"{stream_id}:", self._decrypters
        record_id = ""
        try:
            for record_id, blob in pairs:
                view = memoryview(blob)  # slices without copying the ciphertext
                aead = decrypters.get(bytes(view[1:_HEADER]))
                if aead is None or view[0] != _FORMAT[0]:
                    raise _undecryptable(record_id, "it was written with a secret key that is not configured")
                nonce, sealed = view[_HEADER : _HEADER + _NONCE], view[_HEADER + _NONCE :]
                keep(aead.decrypt(nonce, sealed, (sid + record_id).encode()))
        except InvalidTag:
            raise _undecryptable(record_id, "its payload fails authentication (changed in the database?)") from None
        return out


def _undecryptable(record_id: str, why: str) -> SpliceError:
    return SpliceError(
        f"cannot decrypt record {record_id!r}: {why}",
        code="DECRYPT_FAILED",
        hint="restore the previous secret key as a later line of the key file or SPLICE_SECRET_KEY",
    )


# --- cursors and times -------------------------------------------------------------------


def cursor_prefix(tag: str, stream_id: int) -> str:
    """The part every cursor of one stream shares (computed once a page)."""
    return base64.urlsafe_b64encode(f"1:{tag}:{stream_id}".encode()).rstrip(b"=").decode() + "."


def encode_cursor(prefix: str, cursor: int) -> str:
    """A reader's cursor for ``cursor`` of the stream whose :func:`cursor_prefix` is given."""
    return f"{prefix}{cursor:x}"


def decode_cursor(token: Any, tag: str) -> tuple[int, int]:
    """``(stream_id, cursor)`` from a reader's cursor, or INVALID_CURSOR."""
    try:
        head, tail = token.split(".")
        version, token_tag, stream_id = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)).decode().split(":")
        if version != "1" or not _HEX.fullmatch(tail):
            raise ValueError(version)
        parsed = (int(stream_id), int(tail, 16))
    except (AttributeError, TypeError, ValueError, UnicodeDecodeError):
        shown = repr(token)[:80]
        raise InvalidInput(
            f"malformed cursor {shown}: pass back a cursor exactly as splice returned it",
            code="INVALID_CURSOR",
        ) from None
    if token_tag != tag:
        raise InvalidInput(
            "this cursor belongs to another stream (a different integration, connection or model)",
            code="INVALID_CURSOR",
        )
    return parsed


def to_us(value: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken as UTC."""
    if not isinstance(value, datetime):
        raise InvalidInput(f"expected a datetime, not {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // timedelta(microseconds=1)


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def now_us() -> int:
    return time.time_ns() // 1000
