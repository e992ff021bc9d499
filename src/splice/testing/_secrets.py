"""Secrets out of fixtures: named placeholders when recording, a refusal when one slipped in.

A fixture is committed to a repository, so no credential, token or operator variable may be
in it. Recording knows every secret of the run (the connection's credentials before and after
a refresh, ``ctx.env`` values, the values auth wrote into headers and query strings, tokens a
token endpoint answered with) and replaces each, in every form :mod:`splice._http.redact`
knows (raw, JSON-, ``repr``- and percent-escaped), with a placeholder naming where it came
from: ``{{secret:credentials.api_key}}``, ``{{secret:env.CRM_TOKEN}}``,
``{{secret:token.access_token}}``. Replaying puts the placeholders back as the credentials, so
the same requests are sent with no real secret anywhere.

:func:`find_secrets` checks a fixture someone edited by hand: a value in a place only secrets
go (a credential, an auth header, a secret-named query parameter, a token field) that is not a
placeholder is refused before anything is replayed into a run.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any

from splice._http.redact import MASK, MIN_ENV_SECRET, MIN_SECRET, PUBLIC_FIELDS, quoted_forms, secret_name
from splice.errors import FixtureError
from splice.testing._format import Fixture

#: JSON fields whose string values are tokens wherever they appear in a body
TOKEN_FIELDS = frozenset(
    {"access_token", "refresh_token", "id_token", "token", "client_secret", "api_key", "password", "secret"}
)
_PLACEHOLDER = re.compile(r"\{\{secret:[^{}]+\}\}")


def placeholder(name: str) -> str:
    return "{{secret:" + name + "}}"


def is_placeholder(value: Any) -> bool:
    """Whether ``value`` holds no secret: a placeholder, or the log mask."""
    return isinstance(value, str) and (bool(_PLACEHOLDER.search(value)) or value == MASK or value == "")


def secret_header(name: str) -> bool:
    lower = name.lower()
    return secret_name(lower) or lower in ("cookie", "set-cookie", "proxy-authorization")


class Placeholders:
    """Known secret values and the placeholder each becomes; the first name given a value keeps it."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        self._forms: dict[str, str] = {}

    def add(self, name: str, value: Any, min_length: int = MIN_SECRET) -> None:
        if isinstance(value, bool) or not isinstance(value, str | int):
            return
        text = str(value)
        if len(text) < min_length or text in self.names or is_placeholder(text):
            return
        self.names[text] = name
        for form in quoted_forms(text):
            self._forms.setdefault(form, placeholder(name))
        ordered = sorted(self._forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(f) for f in ordered))

    def add_credentials(self, credentials: Mapping[str, Any]) -> None:
        for key, value in credentials.items():
            if key not in PUBLIC_FIELDS:
                self.add(f"credentials.{key}", value)
        for user, pw in (("username", "password"), ("api_key", "api_secret"), ("client_id", "client_secret")):
            if credentials.get(user) and credentials.get(pw):
                raw = f"{credentials[user]}:{credentials[pw]}".encode()
                self.add(f"credentials.{user}_{pw}_basic", base64.b64encode(raw).decode())

    def add_env(self, env: Mapping[str, str]) -> None:
        for name, value in env.items():
            self.add(f"env.{name}", value, MIN_SECRET if secret_name(name) else MIN_ENV_SECRET)

    def add_header(self, name: str, value: str) -> None:
        """A value auth wrote: its token after the scheme word (``Bearer x``), then the whole value."""
        scheme, _, token = value.partition(" ")
        if token and scheme.isalpha():
            self.add(f"header.{name.lower()}.token", token)
        self.add(f"header.{name.lower()}", value)

    def add_tokens(self, value: Any) -> None:
        """Token fields anywhere in a parsed JSON body (a token endpoint's answer)."""
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and key.lower() in TOKEN_FIELDS and isinstance(item, str):
                    self.add(f"token.{key.lower()}", item)
                else:
                    self.add_tokens(item)
        elif isinstance(value, list):
            for item in value:
                self.add_tokens(item)

    def text(self, value: str) -> str:
        if self._pattern is None or not value:
            return value
        return self._pattern.sub(lambda m: self._forms[m.group(0)], value)

    def value(self, value: Any) -> Any:
        """``value`` with every secret replaced, keys too; numbers that are secrets become placeholders."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, int) and not isinstance(value, bool) and str(value) in self.names:
            return placeholder(self.names[str(value)])
        return value

    def leaks(self, data: bytes) -> list[str]:
        """Names of the secrets whose value (in any quoted form) is still in ``data``."""
        text = data.decode("utf-8", errors="replace")
        return sorted({self.names[v] for v in self.names if any(f in text for f in quoted_forms(v))})


def find_secrets(fixture: Fixture) -> list[str]:
    """Where a hand-edited fixture holds something that looks like a secret rather than a placeholder."""
    found: list[str] = []
    conn = fixture.connection or {}
    for key, value in (conn.get("credentials") or {}).items():
        if key not in PUBLIC_FIELDS and not _harmless(value):
            found.append(f"connection.credentials.{key}")
    found += [f"env.{name}" for name, value in fixture.env.items() if not _harmless(value)]
    for i, exchange in enumerate(fixture.exchanges):
        req, resp = exchange.request, exchange.response
        where = f"exchanges[{i}]"
        found += _secret_headers(req.headers, f"{where}.request.headers")
        found += [
            f"{where}.request.query.{k}"
            for k, v in req.query
            if secret_name(k) and len(v) >= MIN_SECRET and not _harmless(v)
        ]
        found += _token_fields(req.body, f"{where}.request.body")
        found += _token_fields(resp.body, f"{where}.response.body")
    return found


def refuse_secrets(fixture: Fixture) -> None:
    """Raise ``FIXTURE_SECRET`` naming each place a hand-edited fixture holds a secret."""
    found = find_secrets(fixture)
    if found:
        raise FixtureError(
            f"fixture {fixture.path or ''} holds what looks like a secret at {', '.join(found[:5])}"
            + (f" and {len(found) - 5} more places" if len(found) > 5 else "")
            + "; it is not replayed",
            code="FIXTURE_SECRET",
            details={"path": str(fixture.path or ""), "places": found},
            hint="replace each value with a placeholder such as {{secret:credentials.api_key}}, or re-record "
            "the fixture (recording writes placeholders)",
        )


def _harmless(value: Any) -> bool:
    return value is None or isinstance(value, bool) or is_placeholder(value)


def _secret_headers(headers: Mapping[str, Any], where: str) -> list[str]:
    found = []
    for name, value in headers.items():
        values: Iterable[Any] = value if isinstance(value, list) else [value]
        if secret_header(name) and not all(_harmless(v) for v in values):
            found.append(f"{where}.{name}")
    return found


def _token_fields(body: Any, where: str) -> list[str]:
    if not isinstance(body, dict):
        return []
    if "json" in body:
        return [f"{where}.{path}" for path in _json_tokens(body["json"], "")]
    return []


def _json_tokens(value: Any, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and key.lower() in TOKEN_FIELDS and isinstance(item, str):
                if len(item) >= MIN_SECRET and not is_placeholder(item):
                    found.append(here)
            else:
                found += _json_tokens(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _json_tokens(item, f"{path}[{i}]")
    return found
