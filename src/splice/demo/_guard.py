"""Who may call ``/api``: one valid credential of any supported kind, within the rate limit.

Accepting every credential kind on every route lets one demo API back each of splice's
auth schemes; ``GET /api/whoami`` reports which one a request was recognised as, so a
test can tell that a scheme put its credential where it should.
"""

from __future__ import annotations

import functools
import hmac
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable

from aiohttp import web

from splice.demo._oauth import OAuthServer
from splice.demo._web import decode_basic, json_response

__all__ = ["Guard", "Handler", "Principal"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: (auth kind, principal), e.g. ("bearer", "demo-client") or ("api_key", "demo-key")
Principal = tuple[str, str]


class _FixedWindow:
    """At most ``limit`` hits per ``per`` seconds per key; windows start at a key's first hit."""

    def __init__(self, limit: int, per: float) -> None:
        self.limit = limit
        self.per = per
        self._windows: dict[Principal, list[float]] = {}  # key -> [window start, hits]

    def hit(self, key: Principal) -> float | None:
        """Count a hit; ``None`` if allowed, else seconds until the window resets."""
        now = time.monotonic()
        window = self._windows.get(key)
        if window is None or now - window[0] >= self.per:
            window = self._windows[key] = [now, 0]
        window[1] += 1
        if window[1] > self.limit:
            return window[0] + self.per - now
        return None


class Guard:
    """Wraps ``/api`` handlers with authentication, rate limiting and request counting."""

    def __init__(
        self,
        *,
        oauth: OAuthServer,
        api_keys: set[str],
        users: dict[str, str],
        api_secrets: dict[str, str],
        rate_limit: tuple[int, float] | None,
        stats: Counter[str],
    ) -> None:
        self.oauth = oauth
        self.api_keys = api_keys
        self.users = users
        self.api_secrets = api_secrets
        self.stats = stats
        self._limiter = _FixedWindow(*rate_limit) if rate_limit else None

    def __call__(self, handler: Handler) -> Handler:
        """Decorate ``handler`` so it runs only for an authenticated, unthrottled caller."""

        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            self.stats["api.requests"] += 1
            principal = self.authenticate(request)
            if principal is None:
                self.stats["api.401"] += 1
                presented = "Authorization" in request.headers
                challenge = 'Bearer realm="acme"' + (', error="invalid_token"' if presented else "")
                return json_response(
                    {"error": "unauthorized", "message": "missing or invalid credentials"},
                    status=401,
                    headers={"WWW-Authenticate": challenge},
                )
            if self._limiter is not None:
                wait = self._limiter.hit(principal)
                if wait is not None:
                    self.stats["api.429"] += 1
                    retry_after = max(1, math.ceil(wait))
                    return json_response(
                        {"error": "rate limit exceeded", "retry_after": retry_after},
                        status=429,
                        headers={"Retry-After": str(retry_after)},
                    )
            return await handler(request)

        return guarded

    def authenticate(self, request: web.Request) -> Principal | None:
        """The first valid credential on ``request``, or ``None``."""
        header = request.headers.get("Authorization")
        if header:
            scheme, _, credential = header.partition(" ")
            scheme, credential = scheme.lower(), credential.strip()
            if scheme == "bearer" and credential:
                principal = self.oauth.access_token_principal(credential)
                if principal is not None:
                    return ("bearer", principal)
                if credential.count(".") == 2:
                    issuer = self.oauth.jwt_principal(credential)
                    if issuer is not None:
                        return ("jwt", issuer)
            elif scheme == "basic":
                pair = decode_basic(credential)
                if pair is not None:
                    user, password = pair
                    if _matches(self.users.get(user), password):
                        return ("basic", user)
                    if _matches(self.api_secrets.get(user), password):
                        return ("api_key_secret", user)
        key = request.headers.get("X-API-Key") or request.query.get("api_key")
        if key and key in self.api_keys:
            return ("api_key", key)
        return None


def _matches(expected: str | None, given: str) -> bool:
    return expected is not None and hmac.compare_digest(expected.encode(), given.encode())
