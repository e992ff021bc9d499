"""``OAuth2ClientCredentials``: a machine-to-machine token (RFC 6749 §4.4), cached until expiry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from splice.auth._base import BaseAuth, RefreshFlow
from splice.auth._token import (
    TokenAuth,
    check_client_auth,
    normalise_scopes,
    read_token_response,
    render_settings,
    token_request,
)
from splice.errors import InvalidInput


@dataclass(slots=True, frozen=True)
class OAuth2ClientCredentials(TokenAuth):
    """Fetch a token with the connection's client id and secret; fetch again near expiry or on 401.

    >>> auth.OAuth2ClientCredentials(token_url="https://auth.acme.test/token", scopes=["crm"])

    ``client_auth="basic"`` sends the client in an HTTP Basic header (``client_secret_basic``),
    ``"post"`` in the form body (``client_secret_post``). ``audience`` is sent as a form field
    (Auth0 and friends); ``headers`` go to the token endpoint only.
    """

    kind = "oauth2_client_credentials"
    fields = ("client_id", "client_secret")
    optional_fields = ("access_token", "expires_at", "token_type", "scope", "refresh_token")

    token_url: str
    scopes: tuple[str, ...] = ()
    headers: Mapping[str, str] | None = field(default=None, hash=False)
    client_auth: str = "basic"
    audience: str | None = None

    def __post_init__(self) -> None:
        if not self.token_url:
            raise InvalidInput("OAuth2ClientCredentials needs a token_url")
        check_client_auth(self.client_auth)
        object.__setattr__(self, "scopes", normalise_scopes(self.scopes))
        if self.headers is not None:
            object.__setattr__(self, "headers", dict(self.headers))

    def refresh_flow(self, credentials: Mapping[str, Any], now: float) -> RefreshFlow:
        params = {"scope": list(self.scopes), "audience": self.audience}
        request = token_request(
            self.token_url,
            "client_credentials",
            params,
            credentials=credentials,
            client_auth=self.client_auth,
            headers=self.headers,
        )
        response = yield request
        return read_token_response(response, now=now, credentials=credentials)

    def resolve(self, config: Mapping[str, Any], credentials: Mapping[str, Any]) -> BaseAuth:
        return render_settings(self, ("token_url", "audience"), config, credentials)

    def describe(self) -> dict[str, Any]:
        return {
            **BaseAuth.describe(self),
            "token_url": self.token_url,
            "scopes": list(self.scopes),
            "client_auth": self.client_auth,
            "audience": self.audience,
            "token_headers": sorted(self.headers or {}),
        }
