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
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

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
#: known secrets (credential fields, values an auth scheme wrote) shorter than this are not masked
MIN_SECRET = 4
#: operator variables whose name does not look secret are masked from this length on; shorter
#: ones (``true``, ``10000``, ``eu``) are settings, and masking them would garble ordinary text
MIN_ENV_SECRET = 8


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
    """Replaces known secret values with ``***`` in strings and JSON-like values.

    Masking is structural: :meth:`value` walks dicts and lists and masks inside strings (and
    keys), so the result is always the same JSON shape, never a document with ``***`` spliced
    into its syntax. A number is masked only when it *is* a secret (``4821`` for a PIN), a
    string wherever the secret occurs in it. Each secret is also known in the forms it takes
    when quoted: JSON-escaped, ``repr()``-escaped and percent-encoded, so ``Pa\\ss"w`` is
    masked in a ``repr`` of a dict inside an error message too.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, values: Iterable[Any], min_length: int = MIN_SECRET) -> None:
        fresh = set()
        for value in values:
            if isinstance(value, str | int) and not isinstance(value, bool):
                text = str(value)
                if len(text) >= min_length and text not in self._secrets:
                    fresh.add(text)
        if fresh:
            self._secrets |= fresh
            forms = {form for secret in self._secrets for form in quoted_forms(secret)}
            ordered = sorted(forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def add_env(self, env: Mapping[str, str]) -> None:
        """Operator variables: all whose name looks secret, the others from :data:`MIN_ENV_SECRET` characters."""
        self.add(value for name, value in env.items() if secret_name(name))
        self.add(env.values(), min_length=MIN_ENV_SECRET)

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
        """``value`` with secrets masked; the very same object when nothing needed masking.

        The common case (no secret anywhere) costs one C-speed serialisation and one regex
        search; only a value that holds a secret is walked and copied.
        """
        if self._pattern is None or value is None or isinstance(value, bool | bytes):
            return value
        if isinstance(value, str):
            return self.text(value)
        try:
            dumped = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        except (TypeError, orjson.JSONEncodeError):
            dumped = None
        if dumped is not None and self._pattern.search(dumped) is None:
            return value
        return self._walk(value)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self._key(k): self._walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._walk(v) for v in value]
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return MASK if str(value) in self._secrets else value
        return self.text(str(value))

    def _key(self, key: Any) -> Any:
        return self.text(key) if isinstance(key, str) else key


def quoted_forms(secret: str) -> set[str]:
    """The secret raw, JSON-escaped, ``repr()``-escaped and percent-encoded, and each of those
    JSON-escaped once more (how they read in the serialised text :meth:`Redactor.value` searches)."""
    base = {secret, _json_escaped(secret), repr(secret)[1:-1], quote(secret, safe=""), quote_plus(secret, safe="")}
    return {form for text in base for form in (text, _json_escaped(text)) if form}


def _json_escaped(text: str) -> str:
    return orjson.dumps(text).decode()[1:-1]
