"""``rt.connections``: add, change, list, test and delete customers' connections."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from splice._http.client import CallSpec
from splice._http.redact import Redactor
from splice._http.retry import RetryPolicy
from splice._runtime.apis import ApiFactory
from splice.errors import InvalidInput
from splice.project import Project
from splice.store import Connection, Store

if TYPE_CHECKING:
    from splice._runtime.versions import Versions


class Connections:
    """Connections of one project's integrations; credentials and config checked against each."""

    def __init__(self, versions: Versions, store: Store, apis: ApiFactory) -> None:
        self.versions = versions
        self.store = store
        self.apis = apis

    @property
    def project(self) -> Project:
        return self.versions.project

    async def add(
        self,
        integration: str,
        connection_id: str,
        credentials: Mapping[str, Any],
        *,
        config: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Connection:
        """Store a new connection after checking its credentials and config against the integration.

        A config key the integration's ``config=`` model does not declare is refused, naming it.
        """
        spec = self.project.integration(integration)
        clean = spec.auth.validate(credentials)
        spec.validate_config(config)
        _check_metadata(metadata)
        return await self.store.connections.create(
            integration, connection_id, clean, config=dict(config or {}), metadata=dict(metadata or {})
        )

    async def update(
        self,
        integration: str,
        connection_id: str,
        *,
        credentials: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Connection:
        """Replace a connection's credentials, config and/or metadata, each checked like on create.

        Everything is validated before anything is written, so a bad field changes nothing.
        New credentials also clear an ``error`` status (the user fixed the connection).
        """
        spec = self.project.integration(integration)
        await self.store.connections.get(integration, connection_id)
        clean = spec.auth.validate(credentials) if credentials is not None else None
        if config is not None:
            spec.validate_config(config)
        _check_metadata(metadata)
        if clean is not None:
            await self.store.connections.update_credentials(integration, connection_id, clean)
        if config is not None:
            await self.store.connections.set_config(integration, connection_id, dict(config))
        if metadata is not None:
            await self.store.connections.set_metadata(integration, connection_id, dict(metadata))
        return await self.store.connections.get(integration, connection_id)

    async def list(self, integration: str | None = None) -> list[Connection]:
        """Connections, of one integration or all; an integration that is not loaded because its
        module failed to import still lists what is stored (:meth:`Project.loaded`)."""
        if integration is not None:
            self.project.loaded(integration)
        return await self.store.connections.find(integration)

    async def get(self, integration: str, connection_id: str) -> Connection:
        return await self.store.connections.get(integration, connection_id)

    async def metadata(self, integration: str, connection_id: str) -> dict[str, Any]:
        return await self.store.connections.get_metadata(integration, connection_id)

    async def set_metadata(self, integration: str, connection_id: str, value: dict[str, Any]) -> None:
        """Replace the connection's metadata."""
        await self.store.connections.set_metadata(integration, connection_id, value)

    async def update_metadata(self, integration: str, connection_id: str, value: dict[str, Any]) -> dict[str, Any]:
        """Merge ``value`` into the connection's metadata; the result comes back."""
        return await self.store.connections.update_metadata(integration, connection_id, value)

    async def delete(self, integration: str, connection_id: str) -> None:
        """Delete a connection with everything stored for it: state, synced records, checkpoints."""
        await self.store.connections.delete(integration, connection_id)
        await self.store.records.reset(integration, connection_id)
        await self.store.checkpoints.clear(integration, connection_id)
        await self.store.schedules.delete(integration, connection_id)

    async def test(self, integration: str, connection_id: str) -> dict[str, Any]:
        """Refresh if needed and call the integration's ``test_path``; says what was checked."""
        spec = self.project.integration(integration)
        conn = await self.store.connections.get(integration, connection_id)
        api = await self.apis.connection_api(spec, conn, Redactor(), None, RetryPolicy(rate_limit_budget=5))
        test = getattr(spec.auth, "test", None)
        if callable(test):
            ok = await test(api.credentials, self.apis.send_token_request)
            return {"ok": ok is not False, "checked": "the integration's custom test"}
        if spec.test_path:
            response = await api.call(CallSpec("GET", spec.test_path))
            return {"ok": True, "checked": f"GET {spec.test_path} → {response.status}"}
        checked = "credentials refreshed" if spec.auth.refreshable else "credential fields present"
        return {"ok": True, "checked": checked + " (declare test_path= on the integration to call the API)"}


def _check_metadata(metadata: Any) -> None:
    if metadata is not None and not isinstance(metadata, Mapping):
        raise InvalidInput("metadata must be a JSON object")
