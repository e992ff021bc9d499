"""Acme's OAuth 2.0 authorization server, the endpoint splice's auth schemes refresh against.

It is strict where real providers are strict (single-use codes, PKCE, rotated refresh
tokens, audience-checked JWT assertions) so that a bug in splice's refresh logic fails
here instead of in production, and it can be told to misbehave
(``POST /admin/token-failures``) so splice's error paths can be exercised on demand.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import orjson
from aiohttp import web
from joserfc import jwk, jwt
from joserfc.errors import JoseError
from yarl import URL

from splice.demo._web import abort, decode_basic, json_response, read_json_object

__all__ = ["JWT_BEARER", "InvalidAssertion", "OAuthServer"]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: scope granted when a client asks for none
DEFAULT_SCOPE = "contacts:read contacts:write"
#: how long an authorization code may wait before being exchanged
CODE_TTL = 600.0
#: algorithms a JWT (assertion or API bearer) may be signed with
JWT_ALGORITHMS = ["RS256", "ES256"]

# grant_type -> the short name used in ``token.<name>`` stats counters
_SHORT_GRANT = {
    "client_credentials": "client_credentials",
    "authorization_code": "authorization_code",
    "refresh_token": "refresh_token",
    JWT_BEARER: "jwt_bearer",
}
_FAILURE_MODES = ("400", "500", "garbage")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_JWT_CACHE_MAX = 10_000


class InvalidAssertion(Exception):
    """A JWT failed verification; the message says why (safe to show to the caller)."""


class _OAuthError(Exception):
    """An RFC 6749 section 5.2 error; becomes ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> web.Response:
        headers = dict(_NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="acme"'
        body = {"error": self.error, "error_description": self.description}
        return json_response(body, status=self.status, headers=headers)


@dataclass(slots=True)
class _AccessToken:
    principal: str
    scope: str
    expires_at: float  # time.monotonic()


@dataclass(slots=True)
class _AuthorizationCode:
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str
    expires_at: float


@dataclass(slots=True)
class _RefreshGrant:
    client_id: str
    scope: str


class OAuthServer:
    """Issues and checks Acme's tokens; :meth:`routes` serves ``/oauth/*`` and its admin knobs.

    ``token_url`` is called to learn the public token endpoint URL (a JWT assertion's
    ``aud`` must equal it); it is a callable because the port is only known once the
    server has started.
    """

    def __init__(
        self,
        *,
        clients: dict[str, str],
        token_ttl: float,
        stats: Counter[str],
        token_url: Callable[[], str],
    ) -> None:
        self.clients = clients
        self.token_ttl = token_ttl
        self.stats = stats
        self._token_url = token_url
        self._access: dict[str, _AccessToken] = {}
        self._codes: dict[str, _AuthorizationCode] = {}
        self._refresh: dict[str, _RefreshGrant] = {}
        self._rotated: set[str] = set()
        self._keys: dict[str, list[jwk.Key]] = {}
        self._jwt_cache: dict[str, tuple[str, float]] = {}
        self._failure_mode = ""
        self._failures_left = 0
        self._issued_since_prune = 0

    def routes(self) -> list[web.RouteDef]:
        """The authorization server's routes, including its ``/admin`` controls."""
        return [
            web.get("/oauth/authorize", self._authorize),
            web.post("/oauth/token", self._token),
            web.post("/admin/token-failures", self._admin_failures),
            web.post("/admin/keys", self._admin_keys),
            web.post("/admin/tokens/expire", self._admin_expire),
        ]

    # -- controls (also reachable over HTTP under /admin) --------------------------------

    def register_key(self, issuer: str, public_key: str | bytes | dict[str, Any]) -> None:
        """Trust JWTs whose ``iss`` is ``issuer`` when signed by ``public_key`` (PEM or JWK)."""
        key = _import_public_key(public_key)
        self._keys.setdefault(issuer, []).append(key)

    def expire_tokens(self) -> int:
        """Revoke every issued access token (refresh tokens survive); returns how many."""
        count = len(self._access)
        self._access.clear()
        self._jwt_cache.clear()
        return count

    def inject_failures(self, mode: str, count: int) -> None:
        """Make the next ``count`` token requests fail: ``"400"``, ``"500"`` or ``"garbage"``."""
        if mode not in _FAILURE_MODES:
            raise ValueError(f"mode must be one of {', '.join(_FAILURE_MODES)}")
        self._failure_mode, self._failures_left = mode, max(0, count)

    # -- checks used by the API ----------------------------------------------------------

    def access_token_principal(self, token: str) -> str | None:
        """Who an issued, unexpired, unrevoked access token belongs to, else ``None``."""
        issued = self._access.get(token)
        if issued is None:
            return None
        if issued.expires_at <= time.monotonic():
            del self._access[token]
            return None
        return issued.principal

    def jwt_principal(self, token: str) -> str | None:
        """The ``iss`` of a JWT signed by a registered key and not expired, else ``None``.

        Used for JWTs sent straight to the API, so ``aud`` is not checked (an assertion
        for the token endpoint would not name the API as its audience).

        Verified tokens are cached (until their ``exp``) so a benchmark hammering the API
        with one JWT pays for the signature check once.
        """
        cached = self._jwt_cache.get(token)
        now = time.time()
        if cached is not None:
            if cached[1] > now:
                return cached[0]
            del self._jwt_cache[token]
            return None
        try:
            claims = self.verify_jwt(token)
        except InvalidAssertion:
            return None
        if len(self._jwt_cache) >= _JWT_CACHE_MAX:
            self._jwt_cache.clear()
        self._jwt_cache[token] = (claims["iss"], float(claims["exp"]))
        return claims["iss"]

    def verify_jwt(self, token: str, audience: Iterable[str] | None = None) -> dict[str, Any]:
        """Verify a JWT against the keys registered for its ``iss``; return its claims.

        ``exp`` is required and checked; ``aud`` is checked when ``audience`` is given.
        Raises :class:`InvalidAssertion` otherwise.
        """
        issuer = _unverified_issuer(token)
        keys = self._keys.get(issuer)
        if not keys:
            raise InvalidAssertion(f"no key registered for issuer {issuer!r}")
        decoded = None
        for key in keys:
            try:
                decoded = jwt.decode(token, key, algorithms=JWT_ALGORITHMS)
                break
            except (JoseError, ValueError, TypeError):
                continue
        if decoded is None:
            raise InvalidAssertion("signature does not verify with the issuer's keys")
        options: dict[str, Any] = {"exp": {"essential": True}}
        if audience is not None:
            options["aud"] = {"essential": True, "values": list(audience)}
        try:
            jwt.JWTClaimsRegistry(**options).validate(decoded.claims)
        except JoseError as exc:
            raise InvalidAssertion(str(exc)) from exc
        if not isinstance(decoded.claims.get("exp"), int | float):
            raise InvalidAssertion("exp must be a number")
        return decoded.claims

    # -- /oauth/authorize ----------------------------------------------------------------

    async def _authorize(self, request: web.Request) -> web.Response:
        """Auto-approve: redirect straight back with a code, as if the user clicked Allow."""
        self.stats["oauth.authorize"] += 1
        query = request.query
        client_id = query.get("client_id", "")
        if client_id not in self.clients:
            abort(400, {"error": "invalid_client", "error_description": "unknown client_id"})
        redirect_uri = query.get("redirect_uri", "")
        target = URL(redirect_uri) if redirect_uri else None
        if target is None or not target.is_absolute() or target.scheme not in ("http", "https"):
            abort(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "redirect_uri must be an absolute http(s) URL",
                },
            )
        state = query.get("state")
        extra = {"state": state} if state is not None else {}
        if query.get("response_type") != "code":
            return _redirect(target, error="unsupported_response_type", **extra)
        challenge = query.get("code_challenge") or None
        method = query.get("code_challenge_method") or "plain"
        if challenge is not None and method not in ("S256", "plain"):
            return _redirect(target, error="invalid_request", **extra)
        code = secrets.token_urlsafe(24)
        self._codes[code] = _AuthorizationCode(
            client_id=client_id,
            redirect_uri=redirect_uri,
            scope=query.get("scope") or DEFAULT_SCOPE,
            code_challenge=challenge,
            code_challenge_method=method,
            expires_at=time.monotonic() + CODE_TTL,
        )
        return _redirect(target, code=code, **extra)

    # -- /oauth/token --------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = await _read_form(request)
        grant_type = form.get("grant_type", "")
        self.stats["token.requests"] += 1
        self.stats[f"token.{_SHORT_GRANT.get(grant_type, grant_type or 'missing')}"] += 1
        injected = self._injected_failure()
        if injected is not None:
            return injected
        try:
            if grant_type == "client_credentials":
                body = self._client_credentials(request, form)
            elif grant_type == "authorization_code":
                body = self._authorization_code(request, form)
            elif grant_type == "refresh_token":
                body = self._refresh_token(request, form)
            elif grant_type == JWT_BEARER:
                body = self._jwt_bearer(request, form)
            elif not grant_type:
                raise _OAuthError("invalid_request", "grant_type is required")
            else:
                raise _OAuthError("unsupported_grant_type", f"unsupported grant {grant_type!r}")
        except _OAuthError as exc:
            self.stats["token.errors"] += 1
            return exc.response()
        return json_response(body, headers=_NO_STORE)

    def _injected_failure(self) -> web.Response | None:
        if self._failures_left <= 0:
            return None
        self._failures_left -= 1
        mode = self._failure_mode
        self.stats["token.injected_failures"] += 1
        if mode == "400":
            return _OAuthError("invalid_grant", "injected failure").response()
        if mode == "500":
            body = {"error": "server_error", "error_description": "injected failure"}
            return json_response(body, status=500)
        return web.Response(text="<html>upstream hiccup</html>", content_type="text/html")

    def _client_credentials(self, request: web.Request, form: dict[str, str]) -> dict[str, Any]:
        client_id = self._authenticate_client(request, form)
        return self._issue(client_id, form.get("scope") or DEFAULT_SCOPE)

    def _authorization_code(self, request: web.Request, form: dict[str, str]) -> dict[str, Any]:
        client_id = self._authenticate_client(request, form)
        code = _required(form, "code")
        grant = self._codes.pop(code, None)  # single use, even when the exchange fails
        if grant is None:
            raise _OAuthError("invalid_grant", "authorization code is unknown or already used")
        if grant.expires_at <= time.monotonic():
            raise _OAuthError("invalid_grant", "authorization code expired")
        if grant.client_id != client_id:
            raise _OAuthError("invalid_grant", "authorization code was issued to another client")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise _OAuthError("invalid_grant", "redirect_uri does not match the authorize request")
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier")
            if not verifier:
                raise _OAuthError("invalid_grant", "code_verifier is required (PKCE)")
            if grant.code_challenge_method == "S256":
                digest = hashlib.sha256(verifier.encode()).digest()
                expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            else:
                expected = verifier
            if not hmac.compare_digest(expected, grant.code_challenge):
                raise _OAuthError("invalid_grant", "code_verifier does not match code_challenge")
        body = self._issue(client_id, grant.scope)
        body["refresh_token"] = self._new_refresh_token(client_id, grant.scope)
        return body

    def _refresh_token(self, request: web.Request, form: dict[str, str]) -> dict[str, Any]:
        client_id = self._authenticate_client(request, form)
        token = _required(form, "refresh_token")
        grant = self._refresh.get(token)
        if grant is None:
            if token in self._rotated:
                self.stats["token.refresh_reused"] += 1
                raise _OAuthError("invalid_grant", "refresh token was already used (rotated)")
            raise _OAuthError("invalid_grant", "refresh token is unknown")
        if grant.client_id != client_id:
            raise _OAuthError("invalid_grant", "refresh token was issued to another client")
        scope = grant.scope
        if form.get("scope"):
            asked = set(form["scope"].split())
            if not asked <= set(grant.scope.split()):
                raise _OAuthError("invalid_scope", "scope exceeds the original grant")
            scope = " ".join(sorted(asked))
        del self._refresh[token]
        self._rotated.add(token)
        body = self._issue(client_id, scope)
        body["refresh_token"] = self._new_refresh_token(client_id, grant.scope)
        return body

    def _jwt_bearer(self, request: web.Request, form: dict[str, str]) -> dict[str, Any]:
        assertion = _required(form, "assertion")
        audiences = {f"{request.scheme}://{request.host}/oauth/token"}
        configured = self._token_url()
        if configured and not configured.startswith("/"):
            audiences.add(configured)
        try:
            claims = self.verify_jwt(assertion, audience=audiences)
        except InvalidAssertion as exc:
            raise _OAuthError("invalid_grant", f"assertion rejected: {exc}") from exc
        scope = form.get("scope") or claims.get("scope") or DEFAULT_SCOPE
        return self._issue(claims["iss"], str(scope))

    def _authenticate_client(self, request: web.Request, form: dict[str, str]) -> str:
        """client_secret_basic or client_secret_post, whichever the client used.

        RFC 6749 2.3.1 says Basic credentials are form-urlencoded before base64, but many
        clients skip that, so both the raw and the decoded pair are accepted.
        """
        header = request.headers.get("Authorization", "")
        if header[:6].lower() == "basic ":
            pair = decode_basic(header[6:])
            if pair is None:
                raise _OAuthError("invalid_client", "malformed Basic credentials", 401)
            candidates = [pair, (unquote_plus(pair[0]), unquote_plus(pair[1]))]
        elif form.get("client_id"):
            candidates = [(form["client_id"], form.get("client_secret", ""))]
        else:
            raise _OAuthError("invalid_client", "client authentication is required", 401)
        for client_id, secret in candidates:
            expected = self.clients.get(client_id)
            if expected is not None and hmac.compare_digest(expected.encode(), secret.encode()):
                if form.get("client_id") not in (None, client_id):
                    raise _OAuthError("invalid_client", "client_id differs from Basic auth", 401)
                return client_id
        raise _OAuthError("invalid_client", "client authentication failed", 401)

    def _issue(self, principal: str, scope: str) -> dict[str, Any]:
        self._issued_since_prune += 1
        if self._issued_since_prune >= 1000:
            self._prune()
        token = secrets.token_urlsafe(24)
        self._access[token] = _AccessToken(principal, scope, time.monotonic() + self.token_ttl)
        ttl = self.token_ttl
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(ttl) if float(ttl).is_integer() else ttl,
            "scope": scope,
        }

    def _new_refresh_token(self, client_id: str, scope: str) -> str:
        token = secrets.token_urlsafe(32)
        self._refresh[token] = _RefreshGrant(client_id, scope)
        return token

    def _prune(self) -> None:
        """Drop expired tokens and codes so a long benchmark does not grow without bound."""
        self._issued_since_prune = 0
        now = time.monotonic()
        self._access = {t: a for t, a in self._access.items() if a.expires_at > now}
        self._codes = {c: g for c, g in self._codes.items() if g.expires_at > now}

    # -- admin ---------------------------------------------------------------------------

    async def _admin_failures(self, request: web.Request) -> web.Response:
        body = await read_json_object(request)
        mode = str(body.get("mode", ""))
        count = body.get("count", 1)
        if mode not in _FAILURE_MODES or not isinstance(count, int) or count < 0:
            abort(400, {"error": "expected {mode: 400|500|garbage, count: int >= 0}"})
        self.inject_failures(mode, count)
        return json_response({"mode": mode, "count": count})

    async def _admin_keys(self, request: web.Request) -> web.Response:
        body = await read_json_object(request)
        issuer, public_key = body.get("issuer"), body.get("public_key")
        if not isinstance(issuer, str) or not issuer or not isinstance(public_key, str | dict):
            abort(400, {"error": "expected {issuer: str, public_key: PEM str or JWK object}"})
        try:
            self.register_key(issuer, public_key)
        except ValueError as exc:
            abort(400, {"error": str(exc)})
        return json_response({"issuer": issuer, "keys": len(self._keys[issuer])})

    async def _admin_expire(self, request: web.Request) -> web.Response:
        return json_response({"revoked": self.expire_tokens()})


def _redirect(target: URL, **params: str) -> web.Response:
    location = target.update_query(params)
    return web.Response(status=302, headers={"Location": str(location)})


async def _read_form(request: web.Request) -> dict[str, str]:
    """The token request's parameters: a form body, or (leniently) a JSON object."""
    if request.content_type == "application/json":
        body = await read_json_object(request)
        return {k: str(v) for k, v in body.items() if v is not None}
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise _OAuthError("invalid_request", f"{name} is required")
    return value


def _unverified_issuer(token: str) -> str:
    """Peek at ``iss`` to choose the verification keys; the signature is checked after."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidAssertion("not a compact JWS")
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = orjson.loads(payload)
    except (binascii.Error, ValueError) as exc:
        raise InvalidAssertion("payload is not base64url JSON") from exc
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    if not isinstance(issuer, str) or not issuer:
        raise InvalidAssertion("iss claim is required")
    return issuer


def _import_public_key(data: str | bytes | dict[str, Any]) -> jwk.Key:
    """Import an RSA or EC public key, naming the type explicitly (joserfc warns otherwise)."""
    if isinstance(data, dict):
        kty = data.get("kty")
        if kty not in ("RSA", "EC"):
            raise ValueError("JWK kty must be RSA or EC")
        try:
            return jwk.import_key(data, kty)
        except (JoseError, ValueError, TypeError) as exc:
            raise ValueError(f"invalid JWK: {exc}") from exc
    pem = data.encode() if isinstance(data, str) else data
    for kty in ("RSA", "EC"):
        try:
            return jwk.import_key(pem, kty)
        except (JoseError, ValueError, TypeError):
            continue
    raise ValueError("public_key is not an RSA or EC public key in PEM format")
