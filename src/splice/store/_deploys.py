"""Deployed versions of the project (``splice deploy``), numbered from 1; the newest is current.

A rollback does not move a pointer: it appends a new version holding an older one's archive
(``rollback_of`` says which). So "the newest number is what new runs use" is the only rule a
worker on any machine checks (one indexed read), every change of code is a row with a time and
an author, and rolling forward again is one more rollback. Archives are small (a project's
source), so the copy costs little.

Numbers are ``max + 1`` inside the write, which on PostgreSQL first takes a transaction-scoped
advisory lock, so two deploys at once get consecutive numbers (a clash of the primary key,
left only for a database written by other means, is tried again).

>>> version = await store.deploys.create(archive, digest, created_by="ci")
>>> (await store.deploys.newest()).number == version.number
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from splice.errors import InvalidInput, NotFound
from splice.store._engine import Database
from splice.store._schema import project_versions, utcnow

_V = project_versions.c
_COLUMNS = [_V.number, _V.created_at, _V.digest, _V.size, _V.created_by, _V.message, _V.rollback_of]
#: pg_advisory_xact_lock key serialising deploys ("deploy" in ASCII)
_DEPLOY_LOCK_KEY = 0x6465706C6F79
#: longest deploy message kept
MAX_MESSAGE = 1024


@dataclass(frozen=True, slots=True)
class ProjectVersion:
    """One deployed version, without its archive (:meth:`DeployStore.archive` reads that)."""

    number: int
    created_at: datetime
    digest: str
    size: int
    created_by: str | None = None
    message: str | None = None
    #: a rollback: the version whose archive this one holds
    rollback_of: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """For listings and REST (datetimes left to the caller's JSON encoder)."""
        return asdict(self)


def _not_found(number: int, what: str = "deployed version") -> NotFound:
    return NotFound(
        f"no {what} {number}", details={"version": number}, hint="splice deploy --list shows the versions",
        hints={"rest": "GET /deploys lists them"},
    )  # fmt: skip


class DeployStore:
    """``store.deploys``: add, list and read deployed versions; roll back to one."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, archive: bytes, digest: str, *, created_by: str | None = None, message: str | None = None
    ) -> ProjectVersion:
        """Store ``archive`` (already checked: :func:`splice.deploy.check_archive`) as the newest version."""
        if message is not None and (not isinstance(message, str) or len(message) > MAX_MESSAGE):
            raise InvalidInput(f"a deploy message is text of at most {MAX_MESSAGE} characters",
                               details={"field": "message"})  # fmt: skip
        return await self._append(archive, digest, created_by, message, None)

    async def rollback(self, to: int | None = None, *, created_by: str | None = None) -> ProjectVersion:
        """Make version ``to`` (default: the one before the newest) current again, as a new version."""
        newest = await self.newest()
        if newest is None:
            raise NotFound(
                "nothing is deployed yet, so there is nothing to roll back to",
                hint="deploy first: splice deploy",
                hints={"rest": "deploy first: POST /deploys"},
            )
        target = newest.number - 1 if to is None else to
        if to is None and target < 1:
            raise NotFound("version 1 is the only deployed version: there is none before it to roll back to",
                           details={"version": 0}, hint="deploy a new version instead",
                           hints={"rest": "POST /deploys a new version instead"})  # fmt: skip
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(_V.archive, _V.digest).where(_V.number == target))).first()
        if row is None:
            raise _not_found(target)
        message = f"rollback to version {target}"
        return await self._append(bytes(row.archive), row.digest, created_by, message, target)

    async def _append(
        self, archive: bytes, digest: str, created_by: str | None, message: str | None, rollback_of: int | None
    ) -> ProjectVersion:
        for attempt in range(5):
            try:
                async with self._db.write() as conn:
                    if self._db.dialect == "postgresql":  # deploys one at a time (SQLite's writes already are)
                        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DEPLOY_LOCK_KEY})
                    top = (await conn.execute(sa.select(sa.func.max(_V.number)))).scalar()
                    version = ProjectVersion((top or 0) + 1, utcnow(), digest, len(archive), created_by, message,
                                             rollback_of)  # fmt: skip
                    await conn.execute(project_versions.insert().values(**version.to_dict(), archive=archive))
                return version
            except sa.exc.IntegrityError:  # another deploy took the number; take the next
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    async def newest(self) -> ProjectVersion | None:
        """The version new runs use; None when nothing is deployed."""
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(*_COLUMNS).order_by(_V.number.desc()).limit(1))).first()
        return None if row is None else ProjectVersion(**row._mapping)

    async def list(self, limit: int = 100) -> list[ProjectVersion]:
        """Versions newest first."""
        async with self._db.read() as conn:
            rows = (await conn.execute(sa.select(*_COLUMNS).order_by(_V.number.desc()).limit(limit))).all()
        return [ProjectVersion(**row._mapping) for row in rows]

    async def get(self, number: int) -> ProjectVersion:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(*_COLUMNS).where(_V.number == number))).first()
        if row is None:
            raise _not_found(number)
        return ProjectVersion(**row._mapping)

    async def archive(self, number: int) -> bytes:
        """Version ``number``'s ``.tar.gz``."""
        async with self._db.read() as conn:
            data = (await conn.execute(sa.select(_V.archive).where(_V.number == number))).scalar()
        if data is None:
            raise _not_found(number)
        return bytes(data)
