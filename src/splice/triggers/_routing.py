"""Which connection a webhook belongs to: the id is a header, a query parameter or a field of the body.

Third parties send one webhook URL events for every customer and say whose they are in the
request; ``connection_from=`` names where, and the run gets that connection (credentials,
config, state) exactly as if it had been started for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from splice.errors import ProjectError
from splice.triggers._request import WebhookRequest


@dataclass(frozen=True, slots=True)
class Header:
    """The connection id is this header's value: ``connection_from=Header("X-Account-Id")``."""

    name: str

    def __post_init__(self) -> None:
        _check("Header", self.name)

    def value(self, request: WebhookRequest) -> str | None:
        return request.headers.get(self.name) or None

    def describe(self) -> str:
        return f"header {self.name}"


@dataclass(frozen=True, slots=True)
class Query:
    """The connection id is this query parameter (the first, if repeated): ``Query("account")``."""

    name: str

    def __post_init__(self) -> None:
        _check("Query", self.name)

    def value(self, request: WebhookRequest) -> str | None:
        found = request.query.get(self.name)
        if isinstance(found, list):
            found = found[0] if found else None
        return found or None

    def describe(self) -> str:
        return f"query parameter {self.name}"


@dataclass(frozen=True, slots=True)
class Body:
    """The connection id is a field of the JSON body, by dotted path: ``Body("account.id")``.

    A number in the path indexes a list (``"events.0.account"``); the value must be a
    string or a whole number.
    """

    path: str

    def __post_init__(self) -> None:
        _check("Body", self.path)

    def value(self, request: WebhookRequest) -> str | None:
        found: Any = request.json()
        for part in self.path.split("."):
            if isinstance(found, dict):
                found = found.get(part)
            elif isinstance(found, list) and part.isdigit() and int(part) < len(found):
                found = found[int(part)]
            else:
                return None
        if isinstance(found, bool) or not isinstance(found, str | int):
            return None
        return str(found) or None

    def describe(self) -> str:
        return f"body field {self.path}"


ConnectionSource = Header | Query | Body


def _check(kind: str, name: Any) -> None:
    if not isinstance(name, str) or not name or name.strip() != name:
        raise ProjectError(f"{kind}({name!r}): give the name as a non-empty string")
