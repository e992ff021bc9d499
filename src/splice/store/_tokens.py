"""Access tokens for the REST API: named bearer secrets with a scope, revocable, shown once.

A token's secret is ``splice_`` plus 43 url-safe characters (256 random bits). Only its
SHA-256 is stored: a slow password hash (bcrypt, argon2) protects *guessable* secrets, and
nobody can guess 256 random bits, so a fast hash loses nothing and keeps :meth:`verify`, which
runs on every request, at one indexed lookup. Looking the hash up through the unique index
(instead of comparing strings in Python) also means no secret-dependent comparison happens in
splice at all. The first characters of the secret (``prefix``) are kept in clear so a list of
tokens can say which is which; they are far too few to help guess the rest.

>>> token, secret = await store.tokens.create("ci", TokenScope(read_only=True))
>>> (await store.tokens.verify(secret)).id == token.id
True
"""

from __future__ import annotations

import hashlib
import re
import secrets as _random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from splice._clock import Clock, SystemClock
from splice.errors import InvalidInput, NotFound
from splice.store._connections import check_name
from splice.store._engine import Database
from splice.store._schema import access_tokens, check_text

SECRET_PREFIX = "splice_"
#: characters of the secret kept in clear: ``splice_`` plus 7 random ones (42 of 256 bits)
PREFIX_LENGTH = 14
#: ``last_used_at`` is written at most this often per token, so verifying stays a read
LAST_USED_RESOLUTION = timedelta(minutes=1)
_SECRET = re.compile(re.escape(SECRET_PREFIX) + r"[A-Za-z0-9_-]{43}")
_T = access_tokens.c


def _check_names(values: Any, what: str) -> tuple[str, ...] | None:
    if values is None:
        return None
    one = {"integrations": "integration", "connections": "connection id"}[what]
    if isinstance(values, str) or not isinstance(values, list | tuple | set | frozenset):
        raise InvalidInput(
            f"token scope {what} must be a list of names or null, not {type(values).__name__}",
            hint=f"null (or leaving it out) allows every {one}",
        )
    if not values:
        raise InvalidInput(
            f"token scope {what} is empty, which would allow nothing",
            hint=f"name at least one, or leave it out to allow every {one}",
        )
    try:
        return tuple(dict.fromkeys(check_name(value, one) for value in values))
    except InvalidInput as exc:
        raise InvalidInput(exc.message, details=exc.details, hint="see the names in: splice connections list",
                           hints={"rest": "see the names in: GET /connections"}) from None  # fmt: skip


@dataclass(frozen=True, slots=True)
class TokenScope:
    """What a token may do: read only or read and write, on which integrations and connections.

    ``integrations=None`` allows every integration, ``connections=None`` every connection of
    the allowed integrations. A scope limited to connections but not integrations allows
    those connection ids in any integration. Lists are accepted and stored as tuples.
    """

    read_only: bool = False
    integrations: tuple[str, ...] | None = None
    connections: tuple[str, ...] | None = None
    #: may upload the project's code and roll it back (``splice deploy``): a permission of its own
    deploy: bool = False

    def __post_init__(self) -> None:
        for name in ("read_only", "deploy"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidInput(f"token scope {name} must be true or false, not {getattr(self, name)!r}")
        object.__setattr__(self, "integrations", _check_names(self.integrations, "integrations"))
        object.__setattr__(self, "connections", _check_names(self.connections, "connections"))
        if self.deploy and not self.full_access:
            raise InvalidInput(
                "a deploy token cannot be read-only or limited to some integrations or connections: "
                "a deploy changes the code of every integration",
                details={"field": "deploy"},
            )

    def allows(self, integration: str | None = None, connection: str | None = None, *, write: bool = False) -> bool:
        """Whether a request about ``integration`` / ``connection`` is within this scope.

        ``None`` means the request is not narrowed to one integration (or one connection),
        e.g. listing every run, so only a scope not limited in that respect allows it; a
        server answering a list for a limited token should filter by :attr:`integrations`
        and :attr:`connections` instead.
        """
        if write and self.read_only:
            return False
        if self.integrations is not None and integration not in self.integrations:
            return False
        return self.connections is None or connection in self.connections

    @property
    def full_access(self) -> bool:
        return not self.read_only and self.integrations is None and self.connections is None

    @property
    def description(self) -> str:
        """For people: ``"full access"``, ``"read-only, integrations: acme; connections: c1"``."""
        limits = [
            f"{what}: {', '.join(names)}"
            for what, names in (("integrations", self.integrations), ("connections", self.connections))
            if names is not None
        ]
        if self.read_only:
            return ", ".join(["read-only", "; ".join(limits)]) if limits else "read-only"
        if self.deploy:
            return "full access, deploy"
        return "; ".join(limits) if limits else "full access"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, as stored and as shown over REST (``deploy`` only when granted)."""
        data: dict[str, Any] = {
            "read_only": self.read_only,
            "integrations": None if self.integrations is None else list(self.integrations),
            "connections": None if self.connections is None else list(self.connections),
        }
        if self.deploy:
            data["deploy"] = True
        return data

    @classmethod
    def from_dict(cls, data: Any) -> TokenScope:
        """Parse :meth:`to_dict`'s form (missing keys take defaults); InvalidInput when malformed."""
        if not isinstance(data, dict):
            raise InvalidInput(f"a token scope must be an object, not {type(data).__name__}")
        unknown = sorted(set(data) - {"read_only", "integrations", "connections", "deploy"})
        if unknown:
            raise InvalidInput(
                f"unknown token scope field(s): {', '.join(map(str, unknown))}",
                hint="a scope has read_only, integrations, connections and deploy",
            )
        return cls(
            read_only=data.get("read_only", False),
            integrations=data.get("integrations"),
            connections=data.get("connections"),
            deploy=data.get("deploy", False),
        )


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A stored token, without its secret (which is never stored, only its hash)."""

    id: str
    name: str
    prefix: str
    scope: TokenScope
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def to_dict(self) -> dict[str, Any]:
        """For listings and REST (datetimes left to the caller's JSON encoder)."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "scope": self.scope.to_dict(),
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at,
        }


def hash_secret(secret: str) -> bytes:
    """SHA-256 of the secret (see the module docstring for why a fast hash is right)."""
    return hashlib.sha256(secret.encode()).digest()


def _check_token_name(name: Any) -> str:
    if not isinstance(name, str) or not 0 < len(name) <= 128 or not name.strip() or not name.isprintable():
        raise InvalidInput(
            f"invalid token name {name!r}: use 1-128 printable characters, not only spaces",
            details={"field": "name"},
            hint="name it after who uses it, e.g. splice tokens create ci-deploy",
        )
    return name


def _not_found(token_id: Any) -> NotFound:
    return NotFound(f"access token {token_id!r} not found", details={"id": str(token_id)}, hint="splice tokens list",
                    hints={"rest": "GET /tokens lists them"})  # fmt: skip


def _row(row: sa.Row[Any]) -> AccessToken:
    return AccessToken(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scope=TokenScope.from_dict(row.scopes),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


_COLUMNS = [_T.id, _T.name, _T.prefix, _T.scopes, _T.created_at, _T.last_used_at, _T.revoked_at]


class TokenStore:
    """``store.tokens``: create, list, revoke and verify REST API access tokens."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self._db = db
        self._clock = clock or SystemClock()

    async def create(self, name: str, scope: TokenScope | None = None) -> tuple[AccessToken, str]:
        """A new token and its secret; the secret cannot be recovered later, so show it now."""
        _check_token_name(name)
        scope = TokenScope() if scope is None else scope
        if not isinstance(scope, TokenScope):
            raise InvalidInput(f"scope must be a TokenScope, not {type(scope).__name__}")
        secret = SECRET_PREFIX + _random.token_urlsafe(32)
        for attempt in range(3):  # a clash of 48-bit ids is unlikely, not impossible
            token_id = "tok_" + _random.token_hex(6)
            token = AccessToken(token_id, name, secret[:PREFIX_LENGTH], scope, created_at=self._clock.now())
            values = {**token.to_dict(), "scopes": scope.to_dict(), "secret_hash": hash_secret(secret)}
            del values["scope"]
            try:
                async with self._db.write() as conn:
                    await conn.execute(access_tokens.insert().values(**values))
            except sa.exc.IntegrityError:
                if attempt == 2:
                    raise
                continue
            return token, secret
        raise AssertionError("unreachable")

    async def list(self, *, include_revoked: bool = False) -> list[AccessToken]:
        """Tokens oldest first; revoked ones only with ``include_revoked``."""
        query = sa.select(*_COLUMNS).order_by(_T.created_at, _T.id)
        if not include_revoked:
            query = query.where(_T.revoked_at.is_(None))
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_row(row) for row in rows]

    async def get(self, token_id: str) -> AccessToken:
        """The token with this id, revoked or not (NotFound otherwise)."""
        if not isinstance(token_id, str):
            raise _not_found(token_id)
        check_text(token_id, "token_id")
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(*_COLUMNS).where(_T.id == token_id))).first()
        if row is None:
            raise _not_found(token_id)
        return _row(row)

    async def revoke(self, token_id: str) -> AccessToken:
        """Revoke for good; revoking again is harmless and keeps the first ``revoked_at``."""
        if not isinstance(token_id, str):
            raise _not_found(token_id)
        check_text(token_id, "token_id")
        async with self._db.write() as conn:
            live = access_tokens.update().where(_T.id == token_id, _T.revoked_at.is_(None))
            await conn.execute(live.values(revoked_at=self._clock.now()))
            row = (await conn.execute(sa.select(*_COLUMNS).where(_T.id == token_id))).first()
        if row is None:
            raise _not_found(token_id)
        return _row(row)

    async def verify(self, secret: str) -> AccessToken | None:
        """The live token whose secret this is, or ``None`` (unknown, malformed or revoked).

        One indexed read; ``last_used_at`` is written only when it is a minute old or more,
        so a busy client costs one small write a minute, not one a request.
        """
        if not isinstance(secret, str) or not _SECRET.fullmatch(secret):
            return None
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(*_COLUMNS).where(_T.secret_hash == hash_secret(secret)))).first()
        if row is None or row.revoked_at is not None:
            return None
        token = _row(row)
        now = self._clock.now()
        stale = now - LAST_USED_RESOLUTION
        if token.last_used_at is None or token.last_used_at <= stale:
            async with self._db.write() as conn:
                await conn.execute(
                    access_tokens.update()
                    .where(_T.id == token.id, sa.or_(_T.last_used_at.is_(None), _T.last_used_at <= stale))
                    .values(last_used_at=now)
                )
            token = replace(token, last_used_at=now)
        return token
