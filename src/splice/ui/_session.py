"""The dashboard's session: a signed cookie naming the access token that signed in, never its secret.

The cookie holds ``{"token": id, "csrf": random, "exp": unix time}``, signed with itsdangerous
by a key derived from the project's secret key (so sessions survive a restart and
are void when the key changes). Each request reads the token by id again: a revoked token
ends its sessions at once. An anonymous session (before sign-in) carries only ``csrf``, so
the sign-in form is CSRF-safe too.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "splice_session"
#: a session lasts this long after sign-in
MAX_AGE = 12 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    csrf: str
    token_id: str | None = None
    expires: float = 0.0

    @classmethod
    def anonymous(cls) -> Session:
        return cls(csrf=secrets.token_urlsafe(24), expires=time.time() + MAX_AGE)

    def signed_in(self, token_id: str) -> Session:
        """A new session (and CSRF secret) for ``token_id``: the one from before sign-in is not reused."""
        return Session(csrf=secrets.token_urlsafe(24), token_id=token_id, expires=time.time() + MAX_AGE)


class Signer:
    """Turns a :class:`Session` into a cookie value and back, refusing any that was altered or
    expired (itsdangerous's timed serializer: HMAC-SHA1 over the payload and its time)."""

    def __init__(self, key: bytes) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="splice-ui-session")

    def dump(self, session: Session) -> str:
        return self._serializer.dumps({"csrf": session.csrf, "token": session.token_id, "exp": int(session.expires)})

    def load(self, value: str | None) -> Session | None:
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=MAX_AGE)
            session = Session(csrf=str(data["csrf"]), token_id=data["token"], expires=float(data["exp"]))
        except (BadSignature, ValueError, KeyError, TypeError):
            return None
        return session if session.expires > time.time() else None
