"""``ApiKey``: one key in a header (optionally prefixed) or a query parameter."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from splice._http import Request
from splice.auth._base import BaseAuth
from splice.errors import InvalidInput

PLACEMENTS = ("header", "query")


@dataclass(slots=True, frozen=True)
class ApiKey(BaseAuth):
    """An API key sent with every request.

    >>> auth.ApiKey(in_="header", name="Authorization", prefix="Token")   # Token <key>
    >>> auth.ApiKey(in_="query", name="api_key")                          # ?api_key=<key>
    """

    kind = "api_key"
    fields = ("api_key",)

    in_: str = "header"
    name: str = "X-API-Key"
    prefix: str | None = None

    def __post_init__(self) -> None:
        check_placement(self.in_, PLACEMENTS)
        if not self.name:
            raise InvalidInput("ApiKey needs a non-empty name")

    def apply(self, request: Request, credentials: Mapping[str, Any]) -> None:
        key = str(credentials["api_key"])
        if self.in_ == "query":
            request.set_param(self.name, key)
        else:
            request.headers[self.name] = f"{self.prefix} {key}" if self.prefix else key

    def describe(self) -> dict[str, Any]:
        return {**BaseAuth.describe(self), "in": self.in_, "name": self.name, "prefix": self.prefix}


def check_placement(in_: str, allowed: tuple[str, ...]) -> None:
    if in_ not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise InvalidInput(f"in_ must be one of {choices}, not {in_!r}")
