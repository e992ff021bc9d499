"""``ApiKeySecret``: a key and a secret, by default as HTTP Basic ``key:secret``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from splice._http import Request
from splice.auth._api_key import check_placement
from splice.auth._base import BaseAuth
from splice.auth._basic import basic_header
from splice.errors import InvalidInput

PLACEMENTS = ("basic", "header", "query")


@dataclass(slots=True, frozen=True)
class ApiKeySecret(BaseAuth):
    """A key/secret pair: HTTP Basic by default, or two headers, or two query parameters.

    >>> auth.ApiKeySecret()                                   # Authorization: Basic key:secret
    >>> auth.ApiKeySecret(in_="header", key_name="X-Key", secret_name="X-Secret")
    """

    kind = "api_key_secret"
    fields = ("api_key", "api_secret")

    in_: str = "basic"
    key_name: str = "X-API-Key"
    secret_name: str = "X-API-Secret"

    def __post_init__(self) -> None:
        check_placement(self.in_, PLACEMENTS)
        if self.in_ != "basic" and not (self.key_name and self.secret_name):
            raise InvalidInput("ApiKeySecret needs a non-empty key_name and secret_name")

    def apply(self, request: Request, credentials: Mapping[str, Any]) -> None:
        key, secret = str(credentials["api_key"]), str(credentials["api_secret"])
        if self.in_ == "basic":
            request.headers["Authorization"] = basic_header(key, secret)
        elif self.in_ == "header":
            request.headers[self.key_name] = key
            request.headers[self.secret_name] = secret
        else:
            request.set_param(self.key_name, key)
            request.set_param(self.secret_name, secret)

    def describe(self) -> dict[str, Any]:
        summary = {**BaseAuth.describe(self), "in": self.in_}
        if self.in_ != "basic":
            summary.update(key_name=self.key_name, secret_name=self.secret_name)
        return summary
