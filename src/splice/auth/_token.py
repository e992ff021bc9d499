"""Token-endpoint plumbing shared by the OAuth 2 and private-key schemes.

Token schemes keep ``access_token``, ``token_type``, ``expires_at`` (epoch seconds), ``scope``
and, where the provider gives one, ``refresh_token`` in the connection's credentials. This
module builds token requests (bodies via authlib), reads token responses, and turns every
failure into a :class:`~splice.errors.CredentialsError` that never carries a secret.
"""

from __future__ import annotations

import base64
import dataclasses
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from authlib.oauth2.rfc6749.parameters import prepare_token_request
from multidict import CIMultiDict

from splice._http import Request, Response
from splice._templates import has_placeholders, render
from splice.auth._base import EXPIRY_LEEWAY, BaseAuth
from splice.errors import CredentialsError, InvalidInput

CLIENT_AUTH_METHODS = ("basic", "post")
TOKEN_FIELDS = ("access_token", "refresh_token", "expires_at", "token_type", "scope")
_PROVIDER_ERROR_KEYS = ("error", "error_description", "error_uri")
_NOT_EXTRAS = {"expires_in", *_PROVIDER_ERROR_KEYS}
#: credential fields a token response may never overwrite
_PROTECTED = {"client_id", "client_secret", "username", "password", "private_key"}


class TokenAuth(BaseAuth):
    """Behaviour shared by schemes that end up holding an access token."""

    refreshable = True

    def validate(self, credentials: Mapping[str, Any]) -> dict[str, Any]:
        clean = super().validate(credentials)
        if clean.get("expires_at") is not None:
            clean["expires_at"] = coerce_expires_at(clean["expires_at"])
        return clean

    def apply(self, request: Request, credentials: Mapping[str, Any]) -> None:
        token = credentials.get("access_token")
        if token:
            request.headers["Authorization"] = f"{token_type(credentials)} {token}"

    def needs_refresh(self, credentials: Mapping[str, Any], now: float) -> bool:
        if not credentials.get("access_token"):
            return True
        expires_at = credentials.get("expires_at")
        return isinstance(expires_at, int | float) and expires_at - EXPIRY_LEEWAY <= now


def token_type(credentials: Mapping[str, Any]) -> str:
    kind = str(credentials.get("token_type") or "Bearer")
    return "Bearer" if kind.lower() == "bearer" else kind


def normalise_scopes(scopes: Any) -> tuple[str, ...]:
    """``"a b"`` or ``["a", "b"]`` → ``("a", "b")`` (hashable, for frozen schemes)."""
    if isinstance(scopes, str):
        return tuple(scopes.split())
    return tuple(str(s) for s in scopes or ())


def check_client_auth(client_auth: str) -> None:
    if client_auth not in CLIENT_AUTH_METHODS:
        raise InvalidInput(f"client_auth must be 'basic' or 'post', not {client_auth!r}")


def coerce_expires_at(value: Any) -> float:
    """Epoch seconds from a number, a numeric string or an ISO 8601 timestamp."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.timestamp()
    raise InvalidInput(
        "credential field 'expires_at' must be epoch seconds or an ISO 8601 timestamp",
        code="INVALID_CREDENTIALS",
        details={"field": "expires_at"},
    )


def token_request(
    url: str,
    grant_type: str,
    params: Mapping[str, Any],
    *,
    credentials: Mapping[str, Any] | None = None,
    client_auth: str = "basic",
    headers: Mapping[str, str] | None = None,
) -> Request:
    """A form POST to a token endpoint; ``credentials`` (client id/secret) authenticate it."""
    fields = dict(params)
    hdrs: CIMultiDict[str] = CIMultiDict(headers or {})
    hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    hdrs.setdefault("Accept", "application/json")
    if credentials is not None:
        client_id = str(credentials.get("client_id") or "")
        client_secret = str(credentials.get("client_secret") or "")
        if client_auth == "post":
            fields.update(client_id=client_id, client_secret=client_secret)
        else:
            pair = f"{client_id}:{client_secret}".encode()
            hdrs["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    body = prepare_token_request(grant_type, **fields)
    return Request("POST", url, headers=hdrs, content=body.encode())


def read_token_response(
    response: Response,
    *,
    now: float,
    credentials: Mapping[str, Any],
    secrets: Iterable[Any] = (),
) -> dict[str, Any]:
    """The credentials merged with the token response, or ``REFRESH_FAILED``."""
    hidden = _secrets(credentials, secrets)
    body = _json_or_none(response)
    if not 200 <= response.status < 300 or (
        isinstance(body, dict) and "error" in body and not body.get("access_token")
    ):
        raise _endpoint_error(response, body, hidden)
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) or not (body["access_token"]):
        raise CredentialsError(
            "token endpoint returned invalid response (expected JSON with an access_token)",
            code="REFRESH_FAILED",
            details={"status": response.status},
        )
    return merge_tokens(credentials, body, now)


def merge_tokens(credentials: Mapping[str, Any], body: Mapping[str, Any], now: float) -> dict[str, Any]:
    merged = dict(credentials)
    for key, value in body.items():
        if key not in _NOT_EXTRAS and key not in _PROTECTED and _is_scalar(value):
            merged[key] = value  # provider extras such as Salesforce's instance_url
    merged["access_token"] = body["access_token"]
    merged["token_type"] = token_type(body)
    expires_in = _number(body.get("expires_in"))
    expires_at = _number(body.get("expires_at"))  # a few providers (Strava) send both
    if expires_in is not None:
        merged["expires_at"] = now + expires_in
    elif expires_at is not None:
        merged["expires_at"] = expires_at
    else:
        merged.pop("expires_at", None)
    scope = body.get("scope")
    if isinstance(scope, list):
        scope = " ".join(str(s) for s in scope)
    if isinstance(scope, str) and scope:
        merged["scope"] = scope
    if isinstance(body.get("refresh_token"), str) and body["refresh_token"]:
        merged["refresh_token"] = body["refresh_token"]
    return merged


def render_settings(auth: Any, names: Iterable[str], config: Mapping[str, Any], credentials: Mapping[str, Any]) -> Any:
    """A copy of the dataclass ``auth`` with placeholders in the ``names`` settings filled."""
    changes = {}
    for name in names:
        value = getattr(auth, name)
        if isinstance(value, str) and has_placeholders(value):
            changes[name] = render(value, config=config, credentials=credentials)
    return dataclasses.replace(auth, **changes) if changes else auth


def _endpoint_error(response: Response, body: Any, hidden: list[str]) -> CredentialsError:
    provider: dict[str, str] = {}
    if isinstance(body, dict):
        provider = {k: _redact(str(body[k]), hidden)[:500] for k in _PROVIDER_ERROR_KEYS if body.get(k)}
    if provider.get("error"):
        reason = provider["error"]
        if provider.get("error_description"):
            reason += f": {provider['error_description']}"
    else:
        reason = _redact(response.text.strip(), hidden)[:200] or "(empty body)"
        provider = {"body": reason}
    hint = None
    if provider.get("error") in ("invalid_grant", "invalid_client", "unauthorized_client"):
        hint = "the provider rejected the stored credentials; reconnect or update the connection"
    return CredentialsError(
        f"token endpoint returned HTTP {response.status}: {reason}",
        code="REFRESH_FAILED",
        details={"status": response.status, "provider_error": provider},
        hint=hint,
    )


def _json_or_none(response: Response) -> Any:
    try:
        return response.json()
    except orjson.JSONDecodeError:
        return None


def _secrets(credentials: Mapping[str, Any], extra: Iterable[Any]) -> list[str]:
    names = ("client_secret", "access_token", "refresh_token", "private_key", "password")
    values = [credentials.get(n) for n in names] + list(extra)
    return [str(v) for v in values if v and len(str(v)) >= 4]


def _redact(text: str, hidden: list[str]) -> str:
    for secret in hidden:
        text = text.replace(secret, "[redacted]")
    return text


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)
