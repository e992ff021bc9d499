"""The OAuth connect flow behind ``/connect``: a customer's browser grants access, splice keeps the tokens.

The browser carries no bearer token, so every hop carries a signed, expiring, single-use
reference instead::

    POST /connect/sessions (bearer)  → a session: row in store.oauth_states + signed link
    GET  /connect/{integration}?session=…  → takes the session, puts a state (PKCE verifier,
                                             redirect URI, app credentials), 302 to the provider
    GET  /oauth/callback?code=…&state=…   → verifies and takes the state, trades the code for
                                             tokens, creates or updates the connection

The signed references are JWTs (HS256, joserfc) under a key derived from the SecretBox, so no
new secret needs managing and rotating the box's keys rotates this one too (``kid`` names the
key). They only carry a random id: everything secret stays in the store, encrypted. The
signature lets a forged state be refused without touching the database; ``exp`` tells an
expired one apart from a reused one, whose row is already gone.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import OctKey

from splice._clock import Clock
from splice._runtime.apis import ApiFactory
from splice.auth import OAuth2AuthorizationCode
from splice.auth._base import drive
from splice.errors import AlreadyExists, ApiError, CredentialsError, InvalidInput, NotFound, SpliceError, UsageError
from splice.integration import Integration
from splice.project import Project
from splice.services.connections import Connections
from splice.store import Connection, SecretBox, Store

if TYPE_CHECKING:
    from splice._runtime.versions import Versions

#: how long a connect link and a pending authorization stay usable
DEFAULT_TTL = 600.0
CALLBACK_PATH = "/oauth/callback"
_KEY_PURPOSE = "oauth-connect"
_ALGORITHM = "HS256"
#: credentials an authorization replaces; everything else (the OAuth app) carries over
_TOKEN_FIELDS = frozenset({"access_token", "refresh_token", "expires_at", "expires_in", "token_type", "scope"})
_MAX_RETURN_TO = 2048


@dataclass(frozen=True, slots=True)
class Pending:
    """What a connect will do: the connection, its OAuth app credentials, where the browser goes after.

    ``config=None`` keeps an existing connection's config.
    """

    integration: str
    connection_id: str
    credentials: dict[str, Any]
    config: dict[str, Any] | None = None
    return_to: str | None = None

    def to_data(self) -> dict[str, Any]:
        return {"credentials": self.credentials, "config": self.config, "return_to": self.return_to}

    @classmethod
    def from_row(cls, integration: str, connection_id: str, data: Mapping[str, Any]) -> Pending:
        return cls(integration, connection_id, dict(data["credentials"]), data.get("config"), data.get("return_to"))


@dataclass(frozen=True, slots=True)
class ConnectLink:
    url: str
    expires_at: datetime


@dataclass(slots=True)
class Outcome:
    """How a callback whose state was genuine ended; ``error`` is set when it failed after all."""

    integration: str
    connection_id: str
    return_to: str | None
    connection: Connection | None = None
    error: SpliceError | None = None
    #: the provider's own ``error`` (``access_denied``), passed on to ``return_to`` as is
    provider_error: str | None = field(default=None)


def invalid_state(reason: str, message: str) -> UsageError:
    return UsageError(
        f"the OAuth state {message}",
        code="INVALID_STATE",
        details={"reason": reason},
        hint="start the connection again from /connect",
    )


def invalid_session(reason: str, message: str) -> UsageError:
    return UsageError(
        f"the connect link {message}",
        code="INVALID_SESSION",
        details={"reason": reason},
        hint="ask the app for a new connect link (POST /connect/sessions)",
    )


def check_return_to(value: str | None) -> str | None:
    """``return_to`` must be an absolute http(s) URL: the browser is sent there with the outcome."""
    if value is None:
        return None
    parts = urlsplit(value)
    if len(value) > _MAX_RETURN_TO or parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(
            "return_to must be an absolute http(s) URL of at most 2048 characters",
            details={"field": "return_to"},
        )
    return value


def with_query(url: str, params: Mapping[str, str | None]) -> str:
    """``url`` with ``params`` added to the query it already has."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


class ConnectFlow:
    """Starts and finishes OAuth authorization-code connects (``rt.connect``).

    ``session_ttl`` and ``state_ttl`` are attributes so a test can shorten them;
    ``public_url`` (default: ``[server] public_url``) is where browsers and providers reach
    this server, else each request's own base URL is used. ``clock`` stamps and checks the
    links' and states' expiry and the tokens' ``expires_at``.
    """

    def __init__(
        self,
        versions: Versions,
        store: Store,
        connections: Connections,
        apis: ApiFactory,
        box: SecretBox,
        clock: Clock,
        *,
        session_ttl: float = DEFAULT_TTL,
        state_ttl: float = DEFAULT_TTL,
        public_url: str | None = None,
    ) -> None:
        self.versions = versions
        self.store = store
        self.connections = connections
        self.apis = apis
        self.clock = clock
        self.session_ttl = session_ttl
        self.state_ttl = state_ttl
        self.public_url = public_url or versions.project.config.server.public_url
        key_id, key = box.derive_key(_KEY_PURPOSE)
        self._kid, self._key = key_id.hex(), OctKey.import_key(key)
        #: every configured key's, so links signed before a key rotation still verify
        self._keys = {kid.hex(): OctKey.import_key(k) for kid, k in box.derived_keys(_KEY_PURPOSE).items()}

    @property
    def project(self) -> Project:
        return self.versions.project

    def base_url(self, request_base: str) -> str:
        return (self.public_url or request_base).rstrip("/")

    def redirect_uri(self, request_base: str) -> str:
        return self.base_url(request_base) + CALLBACK_PATH

    # --- preparing --------------------------------------------------------------------

    async def prepare(
        self,
        integration: str,
        connection_id: str,
        *,
        credentials: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        return_to: str | None = None,
    ) -> Pending:
        """Check everything the callback will need now, while the app is still there to hear about it.

        The OAuth app credentials and config default to the existing connection's (a
        reconnect); given ones win. Tokens are never carried over: the grant replaces them.
        """
        spec = self._oauth_integration(integration)
        existing = await self._existing(integration, connection_id)
        base = existing.credentials if existing else {}
        creds = {k: v for k, v in {**base, **dict(credentials or {})}.items() if k not in _TOKEN_FIELDS}
        spec.auth.validate(creds)
        if config is not None:
            spec.validate_config(config)
        effective = config if config is not None else existing.config if existing else None
        spec.auth.resolve(spec.resolve_config(effective), creds)  # the authorize URL's placeholders
        kept = dict(config) if config is not None else None
        return Pending(integration, connection_id, creds, kept, check_return_to(return_to))

    async def create_session(self, pending: Pending, request_base: str) -> ConnectLink:
        """A single-use link to hand the customer's browser; the credentials stay in the store."""
        await self.store.oauth_states.purge_expired()
        sid, token, expires = self._issue("session", self.session_ttl)
        data = {"kind": "session", **pending.to_data()}
        await self.store.oauth_states.put(sid, pending.integration, pending.connection_id, data, ttl=self.session_ttl)
        url = with_query(f"{self.base_url(request_base)}/connect/{pending.integration}", {"session": token})
        return ConnectLink(url, datetime.fromtimestamp(expires, UTC))

    async def open_session(self, integration: str, token: str) -> Pending:
        """The pending connect behind a link, which is used up by opening it."""
        try:
            claims = self._decode(token)
        except (JoseError, ValueError, TypeError):
            raise invalid_session("forged", "is not valid (its signature does not verify)") from None
        try:
            self._check(claims, "session")
        except ExpiredTokenError:
            raise invalid_session("expired", "expired") from None
        except JoseError:
            raise invalid_session("forged", "is not a connect link this server issued") from None
        row = await self.store.oauth_states.take(claims["jti"])
        if row is None or row[2].get("kind") != "session":
            raise invalid_session("used", "was already used")
        if row[0] != integration:
            raise invalid_session("mismatch", f"is for integration {row[0]!r}, not {integration!r}")
        return Pending.from_row(*row)

    # --- authorizing ------------------------------------------------------------------

    async def authorization_url(self, pending: Pending, request_base: str) -> str:
        """Where to send the browser: the provider's authorize URL with PKCE and a signed state."""
        spec = self._oauth_integration(pending.integration)
        scheme = await self._scheme(spec, pending)
        await self.store.oauth_states.purge_expired()
        redirect_uri = self.redirect_uri(request_base)
        sid, state, _ = self._issue("state", self.state_ttl)
        url, verifier = scheme.authorization_url(pending.credentials, redirect_uri, state)
        data = {"kind": "state", "verifier": verifier, "redirect_uri": redirect_uri, **pending.to_data()}
        await self.store.oauth_states.put(sid, pending.integration, pending.connection_id, data, ttl=self.state_ttl)
        return url

    async def finish(
        self,
        state: str | None,
        *,
        code: str | None,
        error: str | None = None,
        error_description: str | None = None,
    ) -> Outcome:
        """Handle the provider's redirect back.

        A state that is missing, forged, expired or reused raises ``INVALID_STATE`` (nothing
        to trust, not even where to send the browser). Once the state is genuine it is used
        up, and any failure lands in :attr:`Outcome.error` so the caller can tell ``return_to``.
        """
        if not state:
            raise invalid_state("missing", "is missing from the callback")
        try:
            claims = self._decode(state)
        except (JoseError, ValueError, TypeError):
            raise invalid_state("forged", "is not valid (its signature does not verify)") from None
        try:
            self._check(claims, "state")
        except ExpiredTokenError:
            await self.store.oauth_states.take(claims["jti"])
            raise invalid_state("expired", "expired; the authorization took too long") from None
        except JoseError:
            raise invalid_state("forged", "is not an OAuth state this server issued") from None
        row = await self.store.oauth_states.take(claims["jti"])
        if row is None or row[2].get("kind") != "state":
            raise invalid_state("used", "was already used")
        integration, connection_id, data = row
        pending = Pending.from_row(integration, connection_id, data)
        outcome = Outcome(integration, connection_id, pending.return_to)
        if error:
            outcome.provider_error = error
            outcome.error = UsageError(
                f"the provider refused the authorization: {error}"
                + (f" ({error_description})" if error_description else ""),
                code="OAUTH_PROVIDER_ERROR",
                details={"error": error, "error_description": error_description},
            )
            return outcome
        try:
            tokens = await self._exchange(pending, code or "", data["redirect_uri"], data.get("verifier"))
            outcome.connection = await self._save(pending, tokens)
        except SpliceError as exc:
            outcome.error = exc
        return outcome

    # --- internals --------------------------------------------------------------------

    def _oauth_integration(self, name: str) -> Integration:
        spec = self.project.integration(name)
        if not isinstance(spec.auth, OAuth2AuthorizationCode):
            raise InvalidInput(
                f"integration {name!r} uses {spec.auth.kind} auth; /connect is for OAuth 2.0 "
                "authorization-code integrations",
                code="CONNECT_NOT_SUPPORTED",
                details={"integration": name, "auth": spec.auth.kind},
                hint="create its connections with POST /connections",
            )
        return spec

    async def _existing(self, integration: str, connection_id: str) -> Connection | None:
        try:
            return await self.store.connections.get(integration, connection_id)
        except NotFound:
            return None

    async def _scheme(self, spec: Integration, pending: Pending) -> OAuth2AuthorizationCode:
        config = pending.config
        if config is None:
            existing = await self._existing(pending.integration, pending.connection_id)
            config = existing.config if existing else {}
        scheme = spec.auth.resolve(spec.resolve_config(config), pending.credentials)
        assert isinstance(scheme, OAuth2AuthorizationCode)
        return scheme

    async def _exchange(self, pending: Pending, code: str, redirect_uri: str, verifier: str | None) -> dict[str, Any]:
        spec = self._oauth_integration(pending.integration)
        scheme = await self._scheme(spec, pending)
        flow = scheme.exchange_code_flow(pending.credentials, code, redirect_uri, verifier, self.clock.time())
        try:
            return await drive(flow, self.apis.send_token_request)
        except CredentialsError as exc:
            # the provider's answer, not the connection's health: a bad gateway, not a 409
            raise ApiError(
                exc.message.replace("token endpoint returned", "the token endpoint refused the code with", 1),
                code="TOKEN_EXCHANGE_FAILED",
                details=exc.details,
                hint="check the OAuth app's client id and secret, then connect again",
            ) from None

    async def _save(self, pending: Pending, tokens: dict[str, Any]) -> Connection:
        if await self._existing(pending.integration, pending.connection_id) is None:
            try:
                return await self.connections.add(
                    pending.integration, pending.connection_id, tokens, config=pending.config or {}
                )
            except AlreadyExists:
                pass  # created while the customer was at the provider: update it instead
        return await self.connections.update(
            pending.integration, pending.connection_id, credentials=tokens, config=pending.config
        )

    def _issue(self, use: str, ttl: float) -> tuple[str, str, float]:
        """``(id, signed token, expiry)``: a new random id, signed for ``use``."""
        sid = secrets.token_urlsafe(24)
        now = self.clock.time()
        claims = {"jti": sid, "use": use, "iat": int(now), "exp": now + ttl}
        return (
            sid,
            jwt.encode({"alg": _ALGORITHM, "kid": self._kid}, claims, self._key, algorithms=[_ALGORITHM]),
            now + ttl,
        )

    def _decode(self, token: str) -> dict[str, Any]:
        """The claims of a token signed with one of this server's keys; raises JoseError/ValueError otherwise."""

        def key_for(obj: Any) -> OctKey:
            key = self._keys.get(str(obj.headers().get("kid")))
            if key is None:
                raise ValueError("unknown key id")
            return key

        return jwt.decode(token, key_for, algorithms=[_ALGORITHM]).claims

    def _check(self, claims: dict[str, Any], use: str) -> None:
        """Raises ExpiredTokenError past ``exp``, another JoseError when the token is not for ``use``."""
        registry = jwt.JWTClaimsRegistry(
            now=self.clock.time,  # type: ignore[arg-type]  # float seconds, so sub-second TTLs work
            jti={"essential": True},
            use={"essential": True, "value": use},
            exp={"essential": True},
        )
        registry.validate(claims)
