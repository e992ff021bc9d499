"""The parent-side client that performs a script's HTTP calls for one connection.

A script never holds a socket to the third-party API: its ``ctx.api`` sends a call spec to
the parent, and :class:`ConnectionApi` resolves the URL, enforces the host allowlist,
injects (and refreshes) credentials, retries by the rules of SPEC §2.3, logs the call with
secrets removed, and maps failures onto splice's error tree. The bytes go out through a
:class:`~splice._http.transport.Transport` it is given (aiohttp unless a test says otherwise).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatch
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import orjson
from multidict import CIMultiDict
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_any, stop_before_delay

from splice._clock import Clock, SystemClock
from splice._http.models import Request, Response
from splice._http.redact import Redactor, sanitize_url
from splice._http.retry import (
    RetryableFailure,
    RetryPolicy,
    classify,
    wait_rate_limit,
)
from splice._http.transport import Transport, TransportError
from splice.auth import BaseAuth
from splice.auth._basic import basic_header
from splice.errors import (
    AccessTokenExpired,
    ConnectionBroken,
    ConnectionError,
    InvalidInput,
    RateLimitExceeded,
    SpliceError,
)

Refresher = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
RequestLogger = Callable[[str, str, int | None, float, int], None]
_DROP_HEADERS = frozenset({"set-cookie", "authorization", "proxy-authorization"})
#: how much of an API's answer an error message quotes (all of it, up to 4 KiB, is in ``details``)
_QUOTED = 300


@dataclass(slots=True)
class CallSpec:
    """One call as a script asked for it (SPEC §2.3 options)."""

    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    base_uri: str | None = None
    basic_auth: tuple[str, str] | None = None
    timeout: float | None = None
    retries: int | None = None
    #: False: a 4xx or 5xx (after retries) is returned, not raised — an export's 404 may be its
    #: last page, an import's 422 one record's error. A 401 still refreshes and then raises.
    raise_for_status: bool = True


class ConnectionApi:
    """Calls to one connection's API on behalf of one run."""

    def __init__(
        self,
        *,
        transport: Transport,
        base_url: str,
        auth: BaseAuth,
        credentials: dict[str, Any],
        refresher: Refresher | None,
        policy: RetryPolicy,
        default_headers: Mapping[str, str] | None = None,
        allowed_hosts: tuple[str, ...] = (),
        redactor: Redactor | None = None,
        log_request: RequestLogger | None = None,
        default_timeout: float = 60.0,
        clock: Clock | None = None,
        rejected_hint: str = "replace the connection's credentials, then test it",
    ) -> None:
        """``rejected_hint``: what to do when the API refuses credentials that cannot be refreshed."""
        if urlsplit(base_url).scheme not in ("http", "https"):
            raise InvalidInput(f"base URL {base_url!r} must start with http:// or https://", code="INVALID_CONFIG")
        self.transport = transport
        self.base_url = base_url.rstrip("/") + "/"
        self.auth = auth
        self.credentials = credentials
        self.refresher = refresher
        self.policy = policy
        self.default_headers = dict(default_headers or {})
        base_host = (urlsplit(base_url).hostname or "").lower()
        self.allowed_hosts = (base_host, *allowed_hosts)
        self.redactor = redactor or Redactor()
        self.log_request = log_request
        self.default_timeout = default_timeout
        #: judges whether the credentials are stale before each call
        self.clock = clock or SystemClock()
        self.rejected_hint = rejected_hint
        self._secret_params = {"api_key", getattr(auth, "name", "") or ""}

    async def call(self, spec: CallSpec) -> Response:
        """Perform ``spec`` with auth, retries and the 401 rule; raise on any failure."""
        response, _ = await self._call(spec, stream=False)
        return response

    async def call_stream(self, spec: CallSpec) -> tuple[Response, AsyncIterator[bytes]]:
        response, chunks = await self._call(spec, stream=True)
        assert chunks is not None  # a 2xx stream always has a body iterator
        return response, chunks

    async def _call(self, spec: CallSpec, stream: bool) -> tuple[Response, AsyncIterator[bytes] | None]:
        request = self.build(spec)
        if spec.basic_auth is None and self.auth.needs_refresh(self.credentials, self.clock.time()):
            await self._refresh()
        response, chunks = await self._send_with_retries(spec, request, stream)
        if response.status == 401 and spec.basic_auth is None and self._can_refresh():
            await self._refresh()
            response, chunks = await self._send_with_retries(spec, request, stream)
        if response.status == 401:
            raise self._unauthorized(spec, request, response)
        if response.status >= 300 and spec.raise_for_status:
            raise ConnectionError(
                f"{spec.method} {self.public_url(request)} answered {response.status}",
                details=self._details(response),
            )
        return response, chunks

    def build(self, spec: CallSpec) -> Request:
        """The request for ``spec`` before auth: URL resolved and checked, headers merged."""
        path = spec.path
        if spec.base_uri is None and "://" not in path and "?" not in path and "#" not in path:
            url, query = self.base_url + path.lstrip("/"), list(spec.query)  # the common case: no parsing
        else:
            url, query = self._resolve(spec)
        headers: CIMultiDict[str] = CIMultiDict(self.default_headers)
        if spec.headers:
            headers.update(spec.headers)
        return Request(spec.method.upper(), url, query, headers, spec.content)

    def _resolve(self, spec: CallSpec) -> tuple[str, list[tuple[str, str]]]:
        base = (spec.base_uri.rstrip("/") + "/") if spec.base_uri else self.base_url
        url = spec.path if "://" in spec.path else urljoin(base, spec.path.lstrip("/"))
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not self._host_allowed(host):
            raise ConnectionError(
                f"requests to {host or url!r} are not allowed for this integration",
                code="HOST_NOT_ALLOWED",
                details={"host": host, "allowed_hosts": list(self.allowed_hosts)},
                hint="add the host to the integration's allowed_hosts",
            )
        query = parse_qsl(parts.query, keep_blank_values=True) + list(spec.query)
        return parts._replace(query="", fragment="").geturl(), query

    def _host_allowed(self, host: str) -> bool:
        return any(host == allowed or fnmatch(host, allowed) for allowed in self.allowed_hosts if allowed)

    def _authorize(self, request: Request, spec: CallSpec) -> Request:
        ready = Request(
            request.method, request.url, list(request.params), CIMultiDict(request.headers), request.content
        )
        if spec.basic_auth is not None:
            value = basic_header(*spec.basic_auth)
            ready.headers["Authorization"] = value
            self.redactor.add_header_value(value)
            return ready
        before_headers = dict(ready.headers)
        before_params = list(ready.params)
        self.auth.apply(ready, self.credentials)
        for name, value in ready.headers.items():
            if before_headers.get(name) != value:
                self.redactor.add_header_value(value)
        for name, value in ready.params:
            if (name, value) not in before_params:
                self._secret_params.add(name)
                self.redactor.add([value])
        return ready

    async def _send_with_retries(
        self, spec: CallSpec, request: Request, stream: bool
    ) -> tuple[Response, AsyncIterator[bytes] | None]:
        policy = self.policy
        timeout = spec.timeout or self.default_timeout

        def stop(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            kind = exc.kind if isinstance(exc, RetryableFailure) else "fatal"
            return state.attempt_number >= policy.attempts_for(kind, spec.method, spec.retries)

        try:
            return await self._attempt(request, spec, timeout, stream, 1)
        except RetryableFailure as failure:
            first: RetryableFailure | None = failure
        # Only a retryable failure pays for tenacity; the first outcome is replayed into it so
        # its stop and wait rules (Retry-After included) see every attempt.
        retrying = AsyncRetrying(
            stop=stop_any(stop, stop_before_delay(policy.rate_limit_budget)),
            wait=wait_rate_limit(policy.initial_wait, policy.max_wait),
            retry=retry_if_exception_type(RetryableFailure),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if first is not None:
                        replay, first = first, None
                        raise replay
                    return await self._attempt(request, spec, timeout, stream, attempt.retry_state.attempt_number)
        except RetryableFailure as failure:
            raise self._exhausted(spec, request, failure) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self, request: Request, spec: CallSpec, timeout: float, stream: bool, number: int
    ) -> tuple[Response, AsyncIterator[bytes] | None]:
        ready = self._authorize(request, spec)
        started = time.perf_counter()
        try:
            if stream:
                response, chunks = await self.transport.stream(ready, timeout=timeout)
            else:
                response, chunks = await self.transport.send(ready, timeout=timeout), None
        except (TimeoutError, TransportError) as exc:
            self._log(self.public_url(ready), ready.method, None, started, number)
            reason = "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
            raise RetryableFailure("network_error", None, reason) from None
        response.url = self.public_url(ready)
        self._log(response.url, ready.method, response.status, started, number)
        kind = classify(response)
        if kind in ("rate_limited", "server_error"):
            raise RetryableFailure(kind, response)
        return response, chunks

    def _exhausted(self, spec: CallSpec, request: Request, failure: RetryableFailure) -> Exception:
        where = f"{spec.method} {self.public_url(request)}"
        if failure.kind == "rate_limited":
            return RateLimitExceeded(
                f"{where} is still rate limited (429) after backing off",
                details=self._details(failure.response),
                hint="the run's rate-limit budget is used up; try again later",
            )
        if failure.kind == "network_error":
            return ConnectionError(f"{where} failed: {failure.cause}", code="NETWORK_ERROR", details={"status": None})
        assert failure.response is not None
        return ConnectionError(f"{where} answered {failure.response.status}", details=self._details(failure.response))

    def _unauthorized(self, spec: CallSpec, request: Request, response: Response) -> SpliceError:
        """A 401, by whose credentials were refused and whether a refresh could have helped.

        Credentials that refresh were refreshed and still refused (``ACCESS_TOKEN_EXPIRED``);
        credentials that cannot (an API key, a password) are simply wrong or revoked:
        ``CREDENTIALS_REJECTED``, quoting the API's answer, since only new ones will do.
        """
        where = f"{spec.method} {self.public_url(request)} answered 401 Unauthorized"
        details = self._details(response)
        quoted = _quote(details.get("data"))
        if spec.basic_auth is not None:
            return ConnectionError(f"{where} to the auth= the script passed{quoted}", details=details)
        if self._can_refresh():
            return AccessTokenExpired(
                f"{where} after refreshing the credentials{quoted}",
                details=details,
                hint="check or reconnect the connection's credentials and scopes",
            )
        return ConnectionBroken(
            f"{where}: the API refused the credentials{quoted}",
            code="CREDENTIALS_REJECTED",
            details=details,
            hint=self.rejected_hint,
        )

    def _can_refresh(self) -> bool:
        return self.auth.refreshable and self.refresher is not None

    async def _refresh(self) -> None:
        if self.refresher is None:
            return
        self.credentials = await self.refresher(self.credentials)
        self.redactor.add_credentials(self.credentials)

    def _log(self, url: str, method: str, status: int | None, started: float, attempt: int) -> None:
        if self.log_request is not None:
            elapsed = (time.perf_counter() - started) * 1000
            self.log_request(method, url, status, elapsed, attempt)

    def public_url(self, request: Request) -> str:
        """The request's URL for logs and scripts: no userinfo, secret query values masked."""
        return self.redactor.text(sanitize_url(request.url, self._secret_params, request.params))

    def _details(self, response: Response | None) -> dict[str, Any]:
        if response is None:
            return {"status": None}
        try:
            data = response.data()
        except ValueError:
            data = response.text
        if isinstance(data, str) and len(data) > 4096:
            data = data[:4096] + "…"
        headers = {str(k): v for k, v in response.headers.items() if k.lower() not in _DROP_HEADERS}
        return self.redactor.value({"status": response.status, "headers": headers, "data": data})


def _quote(data: Any) -> str:
    """``: <the API's answer>`` on one line, cut to a few hundred characters; "" for no answer."""
    if data is None or data == "":
        return ""
    text = data if isinstance(data, str) else orjson.dumps(data, default=str).decode()
    text = " ".join(text.split())
    return ": " + (text if len(text) <= _QUOTED else text[:_QUOTED] + "…")
