"""Keep secrets out of everything splice stores or prints.

Two layers: URLs are sanitised before logging (query values whose names look secret, and
userinfo), and a :class:`Redactor` that knows every secret value of a run — credential
fields, operator env vars, and the exact header/query values an auth scheme wrote —
scrubs log lines, errors and results before they are stored. The second layer is what
makes "never in any log, error or stored result" hold even when an API echoes a token back.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

MASK = "***"
_SECRET_NAME = re.compile(r"(?i)(key|token|secret|password|passwd|signature|sig|auth|credential|assertion|code)")
#: credential fields that identify rather than authenticate; shown as they are
PUBLIC_FIELDS = frozenset(
    {
        "client_id",
        "username",
        "token_type",
        "scope",
        "expires_at",
        "expires_in",
        "instance_url",
        "subdomain",
        "region",
    }
)
#: values shorter than this are not treated as secrets (they would mask ordinary words)
MIN_SECRET = 4


def secret_name(name: str) -> bool:
    """Whether a header, query parameter or field called ``name`` probably holds a secret."""
    return bool(_SECRET_NAME.search(name))


def sanitize_url(url: str, secret_params: Iterable[str] = (), params: Iterable[tuple[str, str]] = ()) -> str:
    """``url`` (plus ``params``) without userinfo and with secret-looking query values masked."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        netloc = parts.hostname or ""
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        parts = parts._replace(netloc=netloc)
    query = parse_qsl(parts.query, keep_blank_values=True) if parts.query else []
    query.extend(params)
    if not query:
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    names = {n.lower() for n in secret_params}
    masked = [(k, MASK if (k.lower() in names or secret_name(k)) else v) for k, v in query]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(masked, safe="*"), ""))


class Redactor:
    """Replaces known secret values with ``***`` in strings and JSON-like values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, values: Iterable[Any]) -> None:
        fresh = set()
        for value in values:
            if isinstance(value, str | int) and not isinstance(value, bool):
                text = str(value)
                if len(text) >= MIN_SECRET and text not in self._secrets:
                    fresh.add(text)
        if fresh:
            self._secrets |= fresh
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def add_credentials(self, credentials: Mapping[str, Any]) -> None:
        """Credential values, plus the Basic-auth encodings an API might echo back."""
        self.add(v for k, v in credentials.items() if isinstance(v, str) and k not in PUBLIC_FIELDS)
        for user, pw in (("username", "password"), ("api_key", "api_secret")):
            if credentials.get(user) and credentials.get(pw):
                raw = f"{credentials[user]}:{credentials[pw]}".encode()
                self.add([base64.b64encode(raw).decode()])

    def add_header_value(self, value: str) -> None:
        """A value an auth scheme wrote: the whole value and its token after the scheme word."""
        self.add([value, value.partition(" ")[2]])

    def text(self, value: str) -> str:
        if self._pattern is None or not value:
            return value
        return self._pattern.sub(MASK, value)

    def value(self, value: Any) -> Any:
        """A JSON-safe copy of ``value`` with secrets masked (keys and strings alike)."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes):
            return value
        dumped = orjson.dumps(value, default=str).decode()
        cleaned = self._pattern.sub(MASK, dumped)
        return value if cleaned == dumped else orjson.loads(cleaned)
