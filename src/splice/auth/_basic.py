"""``Basic``: HTTP Basic authentication (RFC 7617) with a username and password."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from splice._http import Request
from splice.auth._base import BaseAuth


@dataclass(slots=True, frozen=True)
class Basic(BaseAuth):
    """``Authorization: Basic base64(username:password)`` on every request.

    >>> acme = Integration("acme", base_url="https://api.acme.test", auth=auth.Basic())
    """

    kind = "basic"
    fields = ("username", "password")

    def apply(self, request: Request, credentials: Mapping[str, Any]) -> None:
        request.headers["Authorization"] = basic_header(credentials["username"], credentials["password"])


def basic_header(user: Any, password: Any) -> str:
    """The ``Authorization`` value for HTTP Basic (UTF-8, as RFC 7617 recommends)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"
