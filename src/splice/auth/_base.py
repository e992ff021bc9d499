"""The contract every auth scheme follows.

A scheme never does I/O. It

* declares the credential ``fields`` a connection must hold (checked by :meth:`validate`),
* writes credentials onto a request (:meth:`apply`),
* says whether stored credentials are stale (:meth:`needs_refresh`), and
* describes a refresh as a generator (:meth:`refresh_flow`) that ``yield``s token-endpoint
  :class:`~splice._http.Request` objects, receives their :class:`~splice._http.Response`
  via ``.send()``, and finally *returns* the new credentials dict.

The gateway drives that generator with real HTTP, under a database lock shared by every
worker, and stores the result before anyone uses it. Tests drive it with ``next()`` and
``.send()``. Credentials are plain JSON-safe dicts; token schemes keep ``access_token``,
``refresh_token`` (where the provider gives one) and ``expires_at`` (epoch seconds, taken
from the clock *before* the token request so expiry is judged conservatively).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Any, ClassVar

from splice._http import Request, Response
from splice.errors import CredentialsError, InvalidInput

RefreshFlow = Generator[Request, Response, dict[str, Any]]
Send = Callable[[Request], Awaitable[Response]]

#: Refresh this many seconds before a token's stated expiry.
EXPIRY_LEEWAY = 60.0


class BaseAuth:
    """Base of all schemes; subclasses set ``fields`` and override what they need."""

    kind: ClassVar[str] = "none"
    #: credential fields a connection must have
    fields: ClassVar[tuple[str, ...]] = ()
    #: credential fields a connection may have (tokens a user already holds, say)
    optional_fields: ClassVar[tuple[str, ...]] = ()
    #: True when :meth:`refresh_flow` can produce fresh credentials (401 → refresh → retry)
    refreshable: ClassVar[bool] = False

    def validate(self, credentials: Mapping[str, Any]) -> dict[str, Any]:
        """A clean copy of ``credentials``, or ``INVALID_CREDENTIALS`` naming the bad field."""
        if not isinstance(credentials, Mapping):
            raise InvalidInput("credentials must be a JSON object", code="INVALID_CREDENTIALS")
        missing = [f for f in self.fields if credentials.get(f) in (None, "")]
        if missing:
            raise InvalidInput(
                f"{self.kind} credentials need {', '.join(missing)}",
                code="INVALID_CREDENTIALS",
                details={"missing": missing},
                hint="add " + " ".join(f"--credential {f}=..." for f in missing),
                hints={"rest": "add " + ", ".join(f'"{f}"' for f in missing) + ' to "credentials"'},
            )
        allowed = set(self.fields) | set(self.optional_fields)
        for name, value in credentials.items():
            if name in allowed and value is not None and not isinstance(value, str | int | float):
                raise InvalidInput(
                    f"credential field {name!r} must be a string, not {type(value).__name__}",
                    code="INVALID_CREDENTIALS",
                    details={"field": name},
                )
        return dict(credentials)

    def apply(self, request: Request, credentials: Mapping[str, Any]) -> None:
        """Write the credentials onto ``request`` (headers or query)."""

    def needs_refresh(self, credentials: Mapping[str, Any], now: float) -> bool:
        """True when the stored credentials must be refreshed before use."""
        return False

    def refresh_flow(self, credentials: Mapping[str, Any], now: float) -> RefreshFlow:
        """Yield token requests, return the new credentials (merged over the old ones)."""
        raise CredentialsError(f"{self.kind} credentials cannot be refreshed; update them")
        yield  # pragma: no cover - makes this a generator

    async def refresh(self, credentials: Mapping[str, Any], now: float, send: Send) -> dict[str, Any]:
        """Run :meth:`refresh_flow` with ``send``; schemes with user code override this."""
        return await drive(self.refresh_flow(credentials, now), send)

    def resolve(self, config: Mapping[str, Any], credentials: Mapping[str, Any]) -> BaseAuth:
        """This scheme with ``{config.x}`` / ``{credentials.y}`` placeholders filled in."""
        return self

    def describe(self) -> dict[str, Any]:
        """A JSON-safe summary for ``splice connections show`` and the REST API (no secrets)."""
        return {"kind": self.kind, "fields": list(self.fields)}


async def drive(flow: RefreshFlow, send: Send) -> dict[str, Any]:
    """Run an auth generator to completion, sending each yielded request with ``send``."""
    try:
        request = next(flow)
        while True:
            response = await send(request)
            request = flow.send(response)
    except StopIteration as stop:
        return stop.value
