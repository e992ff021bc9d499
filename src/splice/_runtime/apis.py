"""The API clients a run gets, and the one place credentials are refreshed.

:class:`ApiFactory` builds a :class:`~splice._http.client.ConnectionApi` for a connection
(placeholders resolved, a broken connection refused, stale credentials refreshed first) and
the ``ctx.internal_api`` client from ``splice.toml``. :meth:`ApiFactory.refresh` is the
refresh rule of SPEC §2.1: one refresh per connection at a time across every process that
shares the store, credentials re-read inside the lock, the result stored before use.
"""

from __future__ import annotations

import os
from typing import Any

from splice import _templates
from splice._clock import Clock, SystemClock
from splice._http.client import ConnectionApi, RequestLogger
from splice._http.models import Request, Response
from splice._http.redact import Redactor
from splice._http.retry import RetryPolicy
from splice._http.transport import Transport, TransportError
from splice.auth import ApiKey, BaseAuth
from splice.config import InternalApiSection
from splice.errors import ConnectionBroken, CredentialsError
from splice.errors import ConnectionError as ApiConnectionError
from splice.integration import Integration
from splice.store import Connection, Store


class ApiFactory:
    """Makes the HTTP clients of runs; shared by every run of a runtime.

    ``clock`` judges whether credentials are stale and stamps the ``expires_at`` of fresh ones.
    """

    def __init__(self, store: Store, transport: Transport, clock: Clock | None = None) -> None:
        self.store = store
        self.transport = transport
        self.clock = clock or SystemClock()

    async def connection_api(
        self,
        integration: Integration,
        conn: Connection,
        redactor: Redactor,
        log_request: RequestLogger | None,
        policy: RetryPolicy,
    ) -> ConnectionApi:
        config = integration.resolve_config(conn.config)
        auth = integration.auth.resolve(config, conn.credentials)
        base_url = _templates.render(integration.base_url, config=config, credentials=conn.credentials)
        if conn.status != "ok" and conn.status_error:
            message = conn.status_error.get("message", "its last credential refresh failed")
            raise ConnectionBroken(
                f"connection {conn.id!r} needs attention: {message}",
                details={"provider_error": conn.status_error},
                hint=f"update its credentials: splice connections delete/add {integration.name} {conn.id}",
            )

        async def refresher(stale: dict[str, Any]) -> dict[str, Any]:
            return await self.refresh(integration, conn.id, auth, stale)

        api = ConnectionApi(
            transport=self.transport,
            base_url=base_url,
            auth=auth,
            credentials=dict(conn.credentials),
            refresher=refresher,
            policy=policy,
            default_headers=integration.headers,
            allowed_hosts=integration.allowed_hosts,
            redactor=redactor,
            log_request=log_request,
            clock=self.clock,
            rejected_hint=f"replace the credentials of connection {integration.name}/{conn.id}, then test it",
        )
        if auth.needs_refresh(api.credentials, self.clock.time()):
            api.credentials = await refresher(api.credentials)
            redactor.add_credentials(api.credentials)
        return api

    async def refresh(
        self, integration: Integration, conn_id: str, auth: BaseAuth, stale: dict[str, Any]
    ) -> dict[str, Any]:
        """One refresh at a time per connection, across every process sharing the store."""
        async with self.store.locks.hold(f"refresh:{integration.name}:{conn_id}", ttl=120, timeout=120):
            current = (await self.store.connections.get(integration.name, conn_id)).credentials
            if current != stale and not auth.needs_refresh(current, self.clock.time()):
                return current
            try:
                fresh = await auth.refresh(current, self.clock.time(), self.send_token_request)
            except CredentialsError as exc:
                if _is_permanent(exc):
                    await self.store.connections.set_status(integration.name, conn_id, "error", exc.to_dict())
                raise
            merged = {**current, **fresh}
            await self.store.connections.update_credentials(integration.name, conn_id, merged)
            return merged

    async def send_token_request(self, request: Request) -> Response:
        try:
            return await self.transport.send(request, timeout=30.0)
        except (TransportError, TimeoutError) as exc:
            raise ApiConnectionError(
                f"token endpoint {request.url} is unreachable: {str(exc) or type(exc).__name__}",
                code="NETWORK_ERROR",
            ) from None

    def internal_api(
        self,
        section: InternalApiSection | None,
        env: dict[str, str],
        redactor: Redactor,
        log_request: RequestLogger,
        policy: RetryPolicy,
    ) -> ConnectionApi | None:
        """``ctx.internal_api`` as ``[internal_api]`` of the run's project version sets it up."""
        if section is None:
            return None
        auth: BaseAuth = BaseAuth()
        credentials: dict[str, Any] = {}
        if section.bearer_env:
            token = env.get(section.bearer_env) or os.environ.get(section.bearer_env)
            if token:
                auth = ApiKey(in_="header", name="Authorization", prefix="Bearer")
                credentials = {"api_key": token}
                redactor.add([token])
        return ConnectionApi(
            transport=self.transport,
            base_url=section.base_url,
            auth=auth,
            credentials=credentials,
            refresher=None,
            policy=policy,
            default_headers=section.headers,
            allowed_hosts=tuple(section.allowed_hosts),
            redactor=redactor,
            log_request=log_request,
            clock=self.clock,
            rejected_hint=f"set the operator variable {section.bearer_env} to a token your API accepts"
            if section.bearer_env
            else "set [internal_api] bearer_env or headers in splice.toml",
        )


def _is_permanent(exc: CredentialsError) -> bool:
    """A provider 5xx is a bad moment, not bad credentials: only other failures mark the connection."""
    status = exc.details.get("status")
    return not (isinstance(status, int) and status >= 500)
