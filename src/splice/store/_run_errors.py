"""Records an export or import run could not process, each kept with what retrying it needs.

Celigo's error management: a record that failed at a stage (a hook, the mapping, the
destination's answer) is one row with the error and its retry data — the stage and what that
stage received — so it can be retried alone, re-entering the pipeline where it failed with
the same (or edited) data; the stages before it are not run again. Rows go with their run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from splice._clock import Clock, SystemClock
from splice.errors import NotFound
from splice.store._engine import Database
from splice.store._schema import check_json, check_text, run_errors

_E = run_errors.c
ErrorStatus = Literal["open", "retried", "failed_again"]
#: most error rows one run keeps; more are counted on the run, not stored
MAX_PER_RUN = 10_000


@dataclass(frozen=True, slots=True)
class RunError:
    """One record's error: where it failed, why, and the data to retry it with."""

    id: str
    run_id: str
    stage: str
    code: str
    message: str
    error: dict[str, Any]
    retry_data: Any
    status: ErrorStatus
    created_at: datetime
    retried_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "run_id": self.run_id, "stage": self.stage, "code": self.code,
                "message": self.message, "error": self.error, "retry_data": self.retry_data,
                "status": self.status, "created_at": self.created_at.isoformat(),
                "retried_at": self.retried_at.isoformat() if self.retried_at else None}  # fmt: skip


class RunErrorStore:
    """``store.run_errors``: add a run's record errors, list them, mark them retried."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self._db = db
        self._clock = clock or SystemClock()

    async def add(self, run_id: str, errors: list[dict[str, Any]]) -> list[str]:
        """Store ``errors`` (each ``{id, stage, code, message, error, retry_data}``) for ``run_id``;
        past :data:`MAX_PER_RUN` a run's errors are not kept (the run's results still count them)."""
        if not errors:
            return []
        room = MAX_PER_RUN - await self.count(run_id)
        errors = errors[: max(room, 0)]
        if not errors:
            return []
        now = self._clock.now()
        rows = []
        for one in errors:
            check_json(one.get("retry_data"), "an error's retry data", "retry_data")
            rows.append({"id": one["id"], "run_id": run_id, "stage": one["stage"], "code": one["code"],
                         "message": one["message"], "error": one["error"], "retry_data": one.get("retry_data"),
                         "status": "open", "created_at": now})  # fmt: skip
        async with self._db.write() as conn:
            await conn.execute(run_errors.insert(), rows)
        return [row["id"] for row in rows]

    async def list(self, run_id: str, *, ids: list[str] | None = None, status: str | None = None) -> list[RunError]:
        check_text(run_id, "run id")
        query = sa.select(run_errors).where(_E.run_id == run_id).order_by(_E.created_at, _E.id)
        if ids is not None:
            query = query.where(_E.id.in_(ids))
        if status is not None:
            query = query.where(_E.status == status)
        async with self._db.read() as conn:
            return [_error(row) for row in (await conn.execute(query)).all()]

    async def get(self, error_id: str) -> RunError:
        check_text(error_id, "error id")
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(run_errors).where(_E.id == error_id))).first()
        if row is None:
            raise NotFound(f"record error {error_id!r} not found", details={"id": error_id})
        return _error(row)

    async def mark(self, error_ids: list[str], status: ErrorStatus) -> None:
        """A retry's outcome: ``retried`` (it went through) or ``failed_again``."""
        if not error_ids:
            return
        query = run_errors.update().where(_E.id.in_(error_ids))
        async with self._db.write() as conn:
            await conn.execute(query.values(status=status, retried_at=self._clock.now()))

    async def count(self, run_id: str) -> int:
        async with self._db.read() as conn:
            query = sa.select(sa.func.count()).select_from(run_errors).where(_E.run_id == run_id)
            return int((await conn.execute(query)).scalar_one())


def _error(row: Any) -> RunError:
    return RunError(row.id, row.run_id, row.stage, row.code, row.message, dict(row.error), row.retry_data,
                    row.status, row.created_at, row.retried_at)  # fmt: skip
