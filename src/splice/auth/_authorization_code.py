"""``OAuth2AuthorizationCode``: a user authorises the app once; splice keeps the tokens fresh.

The connect flow is two steps around the user's browser (RFC 6749 §4.1, PKCE RFC 7636)::

    url, verifier = scheme.authorization_url(creds, redirect_uri, state)   # send the user here
    creds = await drive(scheme.exchange_code_flow(creds, code, redirect_uri, verifier, now), send)

after which :meth:`refresh_flow` uses the refresh token before expiry and on 401.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from splice._http import Request
from splice.auth._base import BaseAuth, RefreshFlow
from splice.auth._token import (
    TokenAuth,
    check_client_auth,
    normalise_scopes,
    read_token_response,
    render_settings,
    token_request,
)
from splice.errors import CredentialsError, InvalidInput


@dataclass(slots=True, frozen=True)
class OAuth2AuthorizationCode(TokenAuth):
    """Authorize-URL connect flow with PKCE, then refresh-token refreshes.

    >>> auth.OAuth2AuthorizationCode(
    ...     authorize_url="https://acme.test/oauth/authorize",
    ...     token_url="https://acme.test/oauth/token",
    ...     scopes=["contacts.read", "offline_access"],
    ... )

    A connection may also be created from tokens the user already holds: pass
    ``access_token`` / ``refresh_token`` and ``expires_at`` (epoch seconds or ISO 8601) or
    ``expires_in`` along with the client id and secret.
    """

    kind = "oauth2_authorization_code"
    fields = ("client_id", "client_secret")
    optional_fields = ("access_token", "refresh_token", "expires_at", "token_type", "scope")

    authorize_url: str
    token_url: str
    scopes: tuple[str, ...] = ()
    headers: Mapping[str, str] | None = field(default=None, hash=False)
    pkce: bool = True
    client_auth: str = "basic"
    extra_authorize_params: Mapping[str, str] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if not (self.authorize_url and self.token_url):
            raise InvalidInput("OAuth2AuthorizationCode needs an authorize_url and a token_url")
        check_client_auth(self.client_auth)
        object.__setattr__(self, "scopes", normalise_scopes(self.scopes))
        for name in ("headers", "extra_authorize_params"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, dict(getattr(self, name)))

    def validate(self, credentials: Mapping[str, Any]) -> dict[str, Any]:
        if isinstance(credentials, Mapping) and credentials.get("expires_in") is not None:
            credentials = dict(credentials)
            expires_in = credentials.pop("expires_in")
            if credentials.get("expires_at") is None:
                credentials["expires_at"] = _expires_at_from(expires_in)
        return TokenAuth.validate(self, credentials)

    def authorization_url(
        self, credentials: Mapping[str, Any], redirect_uri: str, state: str
    ) -> tuple[str, str | None]:
        """The URL to send the user to, and the PKCE code verifier to keep for the exchange."""
        client_id = _require(credentials, "client_id")
        extra: dict[str, Any] = dict(self.extra_authorize_params or {})
        verifier = None
        if self.pkce:
            verifier = generate_token(48)
            extra.update(code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256")
        url = prepare_grant_uri(
            self.authorize_url,
            client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=list(self.scopes),
            state=state,
            **extra,
        )
        return url, verifier

    def exchange_code_flow(
        self,
        credentials: Mapping[str, Any],
        code: str,
        redirect_uri: str,
        code_verifier: str | None,
        now: float,
    ) -> RefreshFlow:
        """Trade the authorization ``code`` for tokens (``authorization_code`` grant)."""
        if not code:
            raise InvalidInput("the authorization code is missing from the callback")
        _require(credentials, "client_id")
        params = {"code": code, "code_verifier": code_verifier}
        request = self._token_request("authorization_code", params, credentials, redirect_uri)
        response = yield request
        fresh = {k: v for k, v in credentials.items() if k != "refresh_token"}
        return read_token_response(response, now=now, credentials=fresh, secrets=(code, code_verifier))

    def refresh_flow(self, credentials: Mapping[str, Any], now: float) -> RefreshFlow:
        refresh_token = credentials.get("refresh_token")
        if not refresh_token:
            raise CredentialsError(
                "the access token expired and the connection has no refresh token; reconnect it (authorize again)",
                code="REFRESH_FAILED",
                hint="reconnect the connection to authorize again",
            )
        params = {"refresh_token": refresh_token}
        response = yield self._token_request("refresh_token", params, credentials)
        # read_token_response keeps the old refresh token unless the provider rotates it
        return read_token_response(response, now=now, credentials=credentials)

    def _token_request(
        self,
        grant_type: str,
        params: dict[str, Any],
        credentials: Mapping[str, Any],
        redirect_uri: str | None = None,
    ) -> Request:
        if redirect_uri:
            params["redirect_uri"] = redirect_uri
        return token_request(
            self.token_url,
            grant_type,
            params,
            credentials=credentials,
            client_auth=self.client_auth,
            headers=self.headers,
        )

    def resolve(self, config: Mapping[str, Any], credentials: Mapping[str, Any]) -> BaseAuth:
        return render_settings(self, ("authorize_url", "token_url"), config, credentials)

    def describe(self) -> dict[str, Any]:
        return {
            **BaseAuth.describe(self),
            "authorize_url": self.authorize_url,
            "token_url": self.token_url,
            "scopes": list(self.scopes),
            "pkce": self.pkce,
            "client_auth": self.client_auth,
            "token_headers": sorted(self.headers or {}),
        }


def _require(credentials: Mapping[str, Any], name: str) -> str:
    value = credentials.get(name) if isinstance(credentials, Mapping) else None
    if value in (None, ""):
        raise InvalidInput(
            f"oauth2_authorization_code credentials need {name}",
            code="INVALID_CREDENTIALS",
            details={"missing": [name]},
        )
    return str(value)


def _expires_at_from(expires_in: Any) -> float:
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        raise InvalidInput(
            "credential field 'expires_in' must be a number of seconds",
            code="INVALID_CREDENTIALS",
            details={"field": "expires_in"},
        ) from None
    return time.time() + seconds
