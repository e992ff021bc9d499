"""``PrivateKey``: sign a JWT with the connection's private key (RFC 7519 / RFC 7523).

With a ``token_url`` the signed JWT is exchanged for an access token (the jwt-bearer grant,
as Google service accounts and Salesforce's JWT flow do); without one the JWT itself is the
bearer token, re-signed shortly before it expires.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from joserfc import jwk, jwt
from joserfc.errors import JoseError

from splice._templates import has_placeholders, render
from splice.auth._base import BaseAuth, RefreshFlow
from splice.auth._token import (
    TokenAuth,
    normalise_scopes,
    read_token_response,
    render_settings,
    token_request,
)
from splice.errors import CredentialsError, InvalidInput

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
KEY_TYPES = {
    **dict.fromkeys(("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), "RSA"),
    **dict.fromkeys(("ES256", "ES384", "ES512"), "EC"),
    **dict.fromkeys(("Ed25519", "Ed448"), "OKP"),
}
_KEY_ERRORS = (ValueError, TypeError, JoseError, UnsupportedAlgorithm)


@dataclass(slots=True, frozen=True)
class PrivateKey(TokenAuth):
    """A JWT signed with the connection's key: ``iss`` = ``sub`` = ``username``.

    >>> auth.PrivateKey(token_url="https://oauth2.acme.test/token", scopes=["read"])
    >>> auth.PrivateKey(audience="https://api.acme.test", algorithm="ES256")  # JWT as bearer

    ``claims`` are added to (and may override) the standard ones, e.g.
    ``claims={"iss": "my-client-id"}`` for Salesforce; string values may hold placeholders.
    """

    kind = "private_key"
    fields = ("username", "private_key")
    optional_fields = ("access_token", "expires_at", "token_type", "scope")

    token_url: str | None = None
    algorithm: str = "RS256"
    audience: str | None = None
    scopes: tuple[str, ...] = ()
    ttl: int = 300
    claims: Mapping[str, Any] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if self.algorithm not in KEY_TYPES:
            raise InvalidInput(f"algorithm must be one of {', '.join(KEY_TYPES)}, not {self.algorithm!r}")
        if isinstance(self.ttl, bool) or not isinstance(self.ttl, int) or self.ttl <= 0:
            raise InvalidInput(f"ttl must be a positive number of seconds, not {self.ttl!r}")
        object.__setattr__(self, "scopes", normalise_scopes(self.scopes))
        if self.claims is not None:
            object.__setattr__(self, "claims", dict(self.claims))

    def validate(self, credentials: Mapping[str, Any]) -> dict[str, Any]:
        clean = TokenAuth.validate(self, credentials)
        clean["private_key"] = _normalise_pem(clean["private_key"])
        key = self._load_key(clean["private_key"])
        try:  # a curve that does not match the algorithm only shows when signing
            jwt.encode({"alg": self.algorithm}, {"iss": "splice"}, key, [self.algorithm])
        except _KEY_ERRORS as exc:
            raise self._key_error(exc) from None
        return clean

    def refresh_flow(self, credentials: Mapping[str, Any], now: float) -> RefreshFlow:
        try:
            assertion, expires_at = self.sign(credentials, now)
        except InvalidInput as exc:
            raise CredentialsError(exc.message, code="REFRESH_FAILED", details=exc.details) from None
        if not self.token_url:
            return {
                **credentials,
                "access_token": assertion,
                "token_type": "Bearer",
                "expires_at": float(expires_at),
            }
        params = {"assertion": assertion, "scope": list(self.scopes)}
        response = yield token_request(self.token_url, JWT_BEARER, params)
        return read_token_response(response, now=now, credentials=credentials, secrets=(assertion,))

    def sign(self, credentials: Mapping[str, Any], now: float) -> tuple[str, int]:
        """A signed JWT for ``credentials`` issued at ``now``, and its ``exp``."""
        key = self._load_key(_normalise_pem(credentials.get("private_key")))
        username = str(credentials.get("username") or "")
        issued = int(now)
        claims: dict[str, Any] = {
            "iss": username,
            "sub": username,
            "iat": issued,
            "exp": issued + self.ttl,
            "jti": uuid.uuid4().hex,
        }
        if self.audience or self.token_url:
            claims["aud"] = self.audience or self.token_url
        if self.scopes:
            claims["scope"] = " ".join(self.scopes)
        claims.update(self.claims or {})
        try:
            token = jwt.encode({"alg": self.algorithm}, claims, key, [self.algorithm])
        except _KEY_ERRORS as exc:
            raise self._key_error(exc) from None
        return token, int(claims["exp"])

    def _load_key(self, pem: str) -> Any:
        try:
            key = jwk.import_key(pem, KEY_TYPES[self.algorithm])  # type: ignore[arg-type]
        except _KEY_ERRORS as exc:
            raise self._key_error(exc) from None
        if not key.is_private:
            raise self._key_error(None, "it is a public key; the private key is needed")
        return key

    def _key_error(self, exc: Exception | None, reason: str | None = None) -> InvalidInput:
        if reason is None:
            # joserfc's messages name key types and curves; others may be vaguer but never
            # echo the key material, which we still keep out on principle
            reason = str(exc) if isinstance(exc, JoseError) else "it could not be loaded"
        family = KEY_TYPES[self.algorithm]
        return InvalidInput(
            f"credential field 'private_key' must be an unencrypted {family} private key in PEM "
            f"format usable with {self.algorithm}: {reason}",
            code="INVALID_CREDENTIALS",
            details={"field": "private_key"},
        )

    def resolve(self, config: Mapping[str, Any], credentials: Mapping[str, Any]) -> BaseAuth:
        resolved = render_settings(self, ("token_url", "audience"), config, credentials)
        templated = [v for v in (self.claims or {}).values() if isinstance(v, str)]
        if not any(has_placeholders(v) for v in templated):
            return resolved
        claims = {
            name: render(value, config=config, credentials=credentials) if isinstance(value, str) else value
            for name, value in (self.claims or {}).items()
        }
        return replace(resolved, claims=claims)

    def describe(self) -> dict[str, Any]:
        return {
            **BaseAuth.describe(self),
            "token_url": self.token_url,
            "algorithm": self.algorithm,
            "audience": self.audience,
            "scopes": list(self.scopes),
            "ttl": self.ttl,
            "claims": sorted(self.claims or {}),
        }


def _normalise_pem(value: Any) -> str:
    """PEM text, also when pasted with literal ``\\n`` (environment variables, JSON)."""
    text = str(value or "")
    if "\\n" in text and "\n" not in text.strip():
        text = text.replace("\\n", "\n")
    return text
