"""Workers and deployed versions: where a worker's versions come from, and a worker with no project folder.

:class:`DeployedVersions` is what :meth:`Versions.follow <splice._runtime.versions.Versions.follow>`
reads: the store's newest version, unpacked once per machine. :func:`open_deployed` opens a
runtime on the newest deployed version alone, for ``splice worker --database-url URL`` on a
machine that has no copy of the project: the database holds the code, ``SPLICE_SECRET_KEY``
the key its secrets are encrypted with.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from splice._runtime.versions import Deployed
from splice.deploy._cache import cached, unpacked
from splice.errors import InvalidInput, ProjectError
from splice.project import load_project
from splice.runtime import Runtime
from splice.store import ProjectVersion, SecretBox, Store, open_store
from splice.store._crypto import ENV_VAR


class DeployedVersions:
    """The store's deployed versions, unpacked under ``cache`` (default: :func:`splice.deploy.cache_root`)."""

    def __init__(self, store: Store, cache: Path | None = None) -> None:
        self._store = store
        self._cache = cache

    async def newest(self) -> ProjectVersion | None:
        return await self._store.deploys.newest()

    async def unpack(self, version: Deployed) -> Path:
        found = cached(version.number, version.digest, self._cache)
        if found is not None:
            return found
        data = await self._store.deploys.archive(version.number)
        return await asyncio.to_thread(unpacked, version.number, version.digest, data, self._cache)


async def open_deployed(database_url: str, *, isolation: str | None = None) -> Runtime:
    """A runtime on the newest version deployed in ``database_url``'s database, following later ones.

    :class:`InvalidInput` without ``SPLICE_SECRET_KEY`` (a key made up here could not open the
    secrets the server stored), :class:`ProjectError` when nothing is deployed yet.
    """
    if not os.environ.get(ENV_VAR):
        raise InvalidInput(
            f"{ENV_VAR} is not set: a worker without a project folder needs the secret key of the server's project",
            code="INVALID_SECRET_KEY",
            hint=f"set {ENV_VAR} to the key the server uses (its .splice/secret.key, or its {ENV_VAR})",
        )
    secrets = SecretBox.from_environment(Path(os.devnull))
    store = await open_store(database_url, secrets)
    try:
        source = DeployedVersions(store)
        newest = await source.newest()
        if newest is None:
            raise ProjectError(
                "no project here and nothing deployed in the database: there is no code to run",
                hint="deploy the project first (splice deploy --server URL), or run the worker in the project folder",
                hints={"rest": "deploy the project first: POST /deploys"},
            )
        root = await source.unpack(newest)
        try:
            project = await asyncio.to_thread(load_project, root)
        except ProjectError as exc:
            raise ProjectError(
                f"deployed version {newest.number} does not load: {exc.message}",
                code=exc.code,
                details={**exc.details, "version": newest.number},
                hint="deploy a fixed version, or go back to the last good one: splice deploy --rollback",
                hints={"rest": "deploy a fixed version (POST /deploys), or POST /deploys/rollback"},
            ) from None
        mode = isolation or project.config.runtime.isolation
        runtime = Runtime(project, store, secrets, mode, deployed=newest.number)
    except BaseException:
        await store.close()
        raise
    await runtime.versions.follow(source)
    return runtime
