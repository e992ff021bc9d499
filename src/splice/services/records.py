"""``rt.records``: reading what syncs stored, page by page."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from splice.errors import NotFound
from splice.project import Project
from splice.store import RecordPage, Store, Stream

if TYPE_CHECKING:
    from splice._runtime.versions import Versions


class Records:
    """Synced records of one project's models, by connection (keyset pages)."""

    def __init__(self, versions: Versions, store: Store) -> None:
        self.versions = versions
        self.store = store

    @property
    def project(self) -> Project:
        return self.versions.project

    async def read(
        self,
        integration: str,
        model: str,
        *,
        connection: str,
        cursor: str | None = None,
        modified_after: datetime | None = None,
        filter: set[str] | None = None,
        ids: list[str] | None = None,
        limit: int = 100,
    ) -> RecordPage:
        """One page of a connection's synced records, oldest change first (keyset on the cursor).

        The model must be one the integration's syncs declare; when the integration is not
        loaded because its module failed to import, what is stored is read without that check.
        """
        spec = self.project.loaded(integration)
        models = {m.__name__ for s in spec.scripts.values() for m in s.models} if spec else {model}
        if model not in models:
            known = ", ".join(sorted(models)) or "none"
            raise NotFound(f"integration {integration!r} syncs no model {model!r} (it syncs: {known})")
        await self.store.connections.get(integration, connection)
        stream = Stream(integration, connection, model)
        return await self.store.records.read(
            stream, cursor=cursor, modified_after=modified_after, filter=filter, ids=ids, limit=limit
        )
