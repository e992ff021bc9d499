"""``Custom``: integration-defined auth functions, like Membrane's ``makeApiClient``,
``refreshCredentials`` and ``test``.

The user's functions receive plain dicts and, to talk to the provider, a ``send`` callable that
takes a :class:`~splice._http.Request` and returns a :class:`~splice._http.Response` through
the gateway (allowlist, logging, redaction all still apply).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from splice._http import Request
from splice.auth._base import EXPIRY_LEEWAY, BaseAuth, Send
from splice.errors import CredentialsError, InvalidInput

ApplyFn = Callable[[Request, dict[str, Any]], None]
RefreshFn = Callable[[dict[str, Any], Send], Awaitable[dict[str, Any]]]
TestFn = Callable[[dict[str, Any], Send], Awaitable[bool | None]]


class Custom(BaseAuth):
    """Auth written as functions.

    >>> def sign(request, credentials):
    ...     request.headers["X-Session"] = credentials["session"]
    >>> async def login(credentials, send):
    ...     response = await send(Request.form("https://acme.test/login", {...}))
    ...     return {"session": response.json()["session"]}
    >>> auth.Custom(apply=sign, refresh=login, fields=("user", "password"))

    ``refresh`` returns the new credentials, merged over the old ones; a numeric
    ``expires_at`` among them makes splice refresh shortly before that time, as well as on 401.
    """

    kind = "custom"

    def __init__(
        self,
        apply: ApplyFn,
        refresh: RefreshFn | None = None,
        test: TestFn | None = None,
        fields: tuple[str, ...] | list[str] = (),
        optional_fields: tuple[str, ...] | list[str] = (),
    ) -> None:
        if not callable(apply) or inspect.iscoroutinefunction(apply):
            raise InvalidInput("Custom(apply=...) must be a plain (not async) function")
        for name, fn in (("refresh", refresh), ("test", test)):
            if fn is not None and not callable(fn):
                raise InvalidInput(f"Custom({name}=...) must be an async function")
        self.apply_fn = apply
        self.refresh_fn = refresh
        self.test_fn = test
        self.fields = tuple(fields)  # type: ignore[misc]
        self.optional_fields = tuple(optional_fields)  # type: ignore[misc]
        self.refreshable = refresh is not None  # type: ignore[misc]

    def apply(self, request: Request, credentials: Mapping[str, Any]) -> None:
        self.apply_fn(request, dict(credentials))

    def needs_refresh(self, credentials: Mapping[str, Any], now: float) -> bool:
        expires_at = credentials.get("expires_at")
        if not self.refreshable or isinstance(expires_at, bool):
            return False
        return isinstance(expires_at, int | float) and expires_at - EXPIRY_LEEWAY <= now

    async def refresh(self, credentials: Mapping[str, Any], now: float, send: Send) -> dict[str, Any]:
        if self.refresh_fn is None:
            return await BaseAuth.refresh(self, credentials, now, send)
        result = await _maybe_await(self.refresh_fn(dict(credentials), send))
        if not isinstance(result, Mapping):
            raise CredentialsError(
                f"the custom refresh function returned {type(result).__name__}, not a dict",
                code="REFRESH_FAILED",
            )
        return {**credentials, **result}

    async def test(self, credentials: Mapping[str, Any], send: Send) -> bool | None:
        """Run the integration's ``test`` function; ``None`` when it has none."""
        if self.test_fn is None:
            return None
        return await _maybe_await(self.test_fn(dict(credentials), send))

    def describe(self) -> dict[str, Any]:
        return {
            **BaseAuth.describe(self),
            "optional_fields": list(self.optional_fields),
            "refreshable": self.refreshable,
            "testable": self.test_fn is not None,
        }

    def __repr__(self) -> str:
        return (
            f"Custom(apply={_name(self.apply_fn)}, refresh={_name(self.refresh_fn)}, "
            f"test={_name(self.test_fn)}, fields={self.fields!r})"
        )


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _name(fn: Any) -> str | None:
    return None if fn is None else getattr(fn, "__qualname__", repr(fn))
