"""Runs and their logs.

A run row is written when the run is queued, then started and finished; while it runs it
may report ``progress`` (a JSON dict, replaced on every report). ``job_id`` names the
background job executing it, so when a worker dies its job's runs that were still
``running`` can be failed with :meth:`RunStore.interrupt`. Its log lines go
to ``run_logs`` in batches (one ``executemany`` per batch), with the run's integration,
script and connection copied onto each line so ``splice logs`` can search without a join.
Log ``seq`` numbers only grow, so a follower polls with ``after_seq=<last seen>``.

Wherever a run id is taken, its short form is too: the last :data:`SHORT_ID_LENGTH` characters
that ``splice logs`` and ``splice runs list`` print. A run id is ``run_`` + 13 hex digits of
time + 12 random ones, so the end (random) tells runs apart where the start (the time) would
not. :meth:`RunStore.resolve` turns a short id into the one run it names; this is the only
place that happens, so the CLI, the Python API and the REST API agree on what it means.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from splice.errors import AlreadyExists, InvalidInput, NotFound, WorkerLost
from splice.store._engine import Database
from splice.store._group_commit import GroupCommit
from splice.store._schema import check_json, check_text, run_logs, runs, utcnow

RUN_STATUSES = ("queued", "running", "succeeded", "failed", "timed_out", "cancelled")
FINISHED_STATUSES = ("succeeded", "failed", "timed_out", "cancelled")
_UNFINISHED = ("queued", "running")
LOG_LEVELS = ("debug", "info", "warning", "error")
#: how many of a run id's last characters the CLI prints, and every run id option accepts
SHORT_ID_LENGTH = 8
#: a short run id: hex digits, from 4 up to the 25 of a whole id, without the ``run_``
_SHORT_ID = re.compile(r"[0-9a-fA-F]{4,25}")
#: how many runs an ambiguous short id names in its error
_CANDIDATES = 5
_R = runs.c
_L = run_logs.c
_INSERT = runs.insert()
_LOG = run_logs.insert()
_COMPLETE = (
    runs.update()
    .where(_R.id == sa.bindparam("b_id"))
    .values(
        status=sa.bindparam("b_status"),
        output=sa.bindparam("b_output"),
        error=sa.bindparam("b_error"),
        finished_at=sa.bindparam("b_finished_at"),
        duration_ms=sa.bindparam("b_duration_ms"),
        progress=sa.bindparam("b_progress"),
    )
)


@dataclass(slots=True)
class RunRecord:
    """One execution of an action, sync, trigger, flow, export or import."""

    id: str
    kind: str
    integration: str
    script: str
    connection_id: str | None = None
    status: str = "queued"
    input: Any = None
    output: Any = None
    error: dict[str, Any] | None = None
    attempt: int = 1
    parent_id: str | None = None
    test_mode: bool = False
    created_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    job_id: str | None = None
    progress: dict[str, Any] | None = None
    owner: str | None = None
    #: a flow's step run: the step's key in its flow run; a flow run: its flow's version
    step: str | None = None
    version: str | None = None
    #: the deployed project version (``splice deploy``) the run's code came from; None: the files on disk
    project_version: int | None = None


@dataclass(slots=True)
class LogLine:
    """A log line as a run emits it."""

    ts: datetime
    level: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class LogRecord:
    """A stored log line, with its sequence number and the run it belongs to."""

    seq: int
    run_id: str
    ts: datetime
    level: str
    message: str
    fields: dict[str, Any]
    integration: str
    script: str
    connection_id: str | None


def _check_status(status: str, allowed: tuple[str, ...]) -> None:
    if status not in allowed:
        raise InvalidInput(f"run status must be one of {', '.join(allowed)}; got {status!r}")


_COMPLETED = ("status", "output", "error", "finished_at", "duration_ms", "progress")


def _already_exists(exc: Exception, params: dict[str, Any]) -> Exception | None:
    if isinstance(exc, sa.exc.IntegrityError) and "id" in params:
        return AlreadyExists(f"run {params['id']!r} already exists")
    return None


def _not_found(run_id: str) -> NotFound:
    return NotFound(f"run {run_id!r} not found", details={"id": run_id}, hint="`splice runs list` shows the runs",
                    hints={"rest": "GET /runs lists them"})  # fmt: skip


def short_id(run_id: str) -> str:
    """The run id as the CLI prints it: its last :data:`SHORT_ID_LENGTH` characters."""
    return run_id[-SHORT_ID_LENGTH:]


def is_short_id(run_id: str) -> bool:
    """Whether ``run_id`` may be the end of a run id rather than a whole one."""
    return _SHORT_ID.fullmatch(run_id) is not None


def _ambiguous(run_id: str, rows: list[sa.Row[Any]]) -> InvalidInput:
    named = rows[:_CANDIDATES]
    count = f"more than {len(named)}" if len(rows) > len(named) else str(len(named))
    shown = "; ".join(f"{row.id} ({row.integration}.{row.script}, {row.created_at:%Y-%m-%d %H:%M:%S})" for row in named)
    return InvalidInput(
        f"run id {run_id!r} is ambiguous: the ids of {count} runs end with it: {shown}",
        code="AMBIGUOUS_ID",
        details={"id": run_id, "candidates": [row.id for row in named]},
        hint="give more of the id's last characters, or the whole id",
    )


def _min_level(level: str) -> tuple[str, ...]:
    if level not in LOG_LEVELS:
        raise InvalidInput(f"log level must be one of {', '.join(LOG_LEVELS)}; got {level!r}")
    return LOG_LEVELS[LOG_LEVELS.index(level) :]


def _any_of(
    query: sa.Select[Any], filters: Iterable[tuple[sa.Column[Any], Collection[str | None] | None]]
) -> sa.Select[Any]:
    """Keep rows whose column is one of the values (``None`` among them matches NULL)."""
    for column, values in filters:
        if values is not None:
            names = [value for value in values if value is not None]
            match = column.in_(names)
            query = query.where(sa.or_(match, column.is_(None)) if len(names) < len(values) else match)
    return query


def _visible(
    integrations: Collection[str] | None, connection_ids: Collection[str | None] | None
) -> tuple[tuple[sa.Column[Any], Collection[str | None] | None], ...]:
    """The runs a caller may see, as :func:`_any_of` filters."""
    return ((_R.integration, integrations), (_R.connection_id, connection_ids))


class RunStore:
    """``store.runs``: run records and their logs."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._group = GroupCommit(db, _already_exists)

    async def create(self, record: RunRecord) -> RunRecord:
        """Store a new run (committed with other runs' writes of the moment: see ``_group_commit``)."""
        await asyncio.shield(self.create_later(record))
        return record

    def create_later(self, record: RunRecord) -> asyncio.Future[None]:
        """:meth:`create` without waiting: the future is done once the row is committed (a flow's
        step rows go out with the next ones: its checkpoint, see ``splice._runtime.flow_runner``)."""
        _check_status(record.status, RUN_STATUSES)
        for name in ("input", "output", "error", "progress"):
            check_json(getattr(record, name), f"run {name}", name)
        return self._group.submit(_INSERT, {name: getattr(record, name) for name in RunRecord.__slots__})

    async def complete(self, record: RunRecord, *, checked: bool = False) -> RunRecord:
        """Store the outcome of ``record``, a run this process created and has just finished.

        The writer of a run already holds it, so unlike :meth:`finish` nothing is read back;
        ``finished_at`` defaults to now, ``duration_ms`` is measured from ``started_at``.
        """
        await asyncio.shield(self.complete_later(record, checked=checked))
        return record

    def complete_later(self, record: RunRecord, *, checked: bool = False) -> asyncio.Future[None]:
        """:meth:`complete` without waiting: the future is done once the outcome is committed.

        ``checked``: the output is known to be plain, finite JSON (a run's output, made so where
        the run returned it), so it is not walked again.
        """
        _check_status(record.status, FINISHED_STATUSES)
        if not checked:
            check_json(record.output, "run output", "output")
        check_json(record.error, "run error", "error")
        record.finished_at = record.finished_at or utcnow()
        if record.started_at is not None:
            record.duration_ms = (record.finished_at - record.started_at).total_seconds() * 1000.0
        params = {f"b_{name}": getattr(record, name) for name in _COMPLETED}
        return self._group.submit(_COMPLETE, {**params, "b_id": record.id})

    async def restart(self, record: RunRecord) -> None:
        """Mark a queued or interrupted run running again (a flow run's next attempt), as ``record`` says."""
        names = ("status", "error", "attempt", "job_id", "owner", "started_at", "project_version")
        values = {name: getattr(record, name) for name in names}
        async with self._db.write() as conn:
            if (await conn.execute(runs.update().where(_R.id == record.id).values(**values))).rowcount == 0:
                raise _not_found(record.id)

    async def set_job(self, run_id: str, job_id: str) -> None:
        """Note the job executing a run that was stored before it was queued (a flow run)."""
        async with self._db.write() as conn:
            if (await conn.execute(runs.update().where(_R.id == run_id).values(job_id=job_id))).rowcount == 0:
                raise _not_found(run_id)

    async def drain(self) -> None:
        """Wait for writes still being grouped (before the database closes)."""
        await self._group.drain()

    async def start(self, id: str, started_at: datetime | None = None) -> None:
        """Mark the run running (``started_at`` defaults to now)."""
        stmt = runs.update().where(_R.id == id)
        stmt = stmt.values(status="running", started_at=started_at or utcnow())
        async with self._db.write() as conn:
            if (await conn.execute(stmt)).rowcount == 0:
                raise _not_found(id)

    async def finish(
        self,
        id: str,
        status: str,
        *,
        output: Any = None,
        error: dict[str, Any] | None = None,
        finished_at: datetime | None = None,
    ) -> RunRecord:
        """Record the outcome; ``duration_ms`` is measured from ``started_at`` when set.

        A run already failed as ``WORKER_LOST`` keeps that outcome: its worker was declared lost
        and the job runs elsewhere, so what the lost worker reports late is dropped."""
        _check_status(status, FINISHED_STATUSES)
        check_json(output, "run output", "output")
        check_json(error, "run error", "error")
        finished_at = finished_at or utcnow()
        async with self._db.write() as conn:
            query = sa.select(runs).where(_R.id == id).with_for_update()
            row = (await conn.execute(query)).first()
            if row is None:
                raise _not_found(id)
            record = RunRecord(**row._mapping)
            if record.status not in _UNFINISHED and (record.error or {}).get("code") in WorkerLost.codes:
                return record  # another worker declared this one lost: its late outcome is not the run's
            record.status, record.output, record.error = status, output, error
            record.finished_at = finished_at
            if record.started_at is not None:
                elapsed = finished_at - record.started_at
                record.duration_ms = elapsed.total_seconds() * 1000.0
            await conn.execute(
                runs.update()
                .where(_R.id == id)
                .values(
                    status=status,
                    output=output,
                    error=error,
                    finished_at=finished_at,
                    duration_ms=record.duration_ms,
                )
            )
        return record

    async def set_progress(self, run_id: str, progress: dict[str, Any]) -> None:
        """Replace the run's progress (a JSON dict), so how far a long sync got shows while it runs."""
        if not isinstance(progress, dict):
            raise InvalidInput(f"run progress must be a dict, not {type(progress).__name__}")
        check_json(progress, "run progress", "progress")
        stmt = runs.update().where(_R.id == run_id).values(progress=progress)
        async with self._db.write() as conn:
            if (await conn.execute(stmt)).rowcount == 0:
                raise _not_found(run_id)

    async def interrupt(self, job_id: str, error: dict[str, Any], *, finished_at: datetime | None = None) -> int:
        """Fail every run of ``job_id`` still ``running`` (and the runs they started: a flow run's
        steps), with ``error``; returns how many.

        For a job that is being recovered after its worker died: its runs will never finish
        on their own.
        """
        of_job = sa.select(_R.id).where(_R.job_id == job_id).scalar_subquery()
        which = sa.or_(_R.job_id == job_id, _R.parent_id.in_(of_job))
        return await self._fail_unfinished(sa.and_(which, _R.status == "running"), error, finished_at)

    async def abandon(self, owner: str, error: dict[str, Any], *, finished_at: datetime | None = None) -> int:
        """Fail every unfinished run ``owner`` started, with ``error``; returns how many.

        For a process starting again under the name of one that died (a worker's ``--id``):
        nothing is still executing the runs it left ``queued`` or ``running``.
        """
        return await self._fail_unfinished(sa.and_(_R.owner == owner, _R.status.in_(_UNFINISHED)), error, finished_at)

    async def unqueued_jobs(self, owner: str) -> list[RunRecord]:
        """The unfinished runs of ``owner`` that are the first attempt of a job no queue holds yet:
        a run whose ``job_id`` is its own id (a waiting action, see ``Runtime.run(recoverable=True)``)."""
        query = sa.select(runs).where(_R.owner == owner, _R.status.in_(_UNFINISHED), _R.job_id == _R.id)
        async with self._db.read() as conn:
            return [RunRecord(**row._mapping) for row in (await conn.execute(query)).all()]

    async def unfinished_owners(self) -> list[str]:
        """The owners of runs still ``queued`` or ``running``."""
        query = sa.select(_R.owner).where(_R.status.in_(_UNFINISHED), _R.owner.is_not(None)).distinct()
        async with self._db.read() as conn:
            return [row[0] for row in (await conn.execute(query)).all()]

    async def _fail_unfinished(
        self, which: sa.ColumnElement[bool], error: dict[str, Any], finished_at: datetime | None
    ) -> int:
        """Fail the runs ``which`` selects. ``duration_ms`` is measured from ``started_at`` as
        :meth:`finish` does, so the rows are read (locked) and updated one by one in a single
        transaction."""
        check_json(error, "run error", "error")
        finished_at = finished_at or utcnow()
        query = (
            sa.select(_R.id, _R.started_at).where(which, _R.status.in_(_UNFINISHED)).order_by(_R.id).with_for_update()
        )
        async with self._db.write() as conn:
            rows = (await conn.execute(query)).all()
            for run_id, started_at in rows:
                duration_ms = None
                if started_at is not None:
                    duration_ms = (finished_at - started_at).total_seconds() * 1000.0
                await conn.execute(
                    runs.update()
                    .where(_R.id == run_id)
                    .values(status="failed", error=error, finished_at=finished_at, duration_ms=duration_ms)
                )
        return len(rows)

    async def get(
        self,
        id: str,
        *,
        integrations: Collection[str] | None = None,
        connection_ids: Collection[str | None] | None = None,
    ) -> RunRecord:
        """The run ``id`` names, whole or short (see :meth:`resolve`); ``integrations`` /
        ``connection_ids`` as for :meth:`find`: a run outside them is not found."""
        check_text(id, "run_id")
        async with self._db.read() as conn:
            full = await self._resolve(conn, id, integrations, connection_ids)
            query = _any_of(sa.select(runs).where(_R.id == full), _visible(integrations, connection_ids))
            row = None if full is None else (await conn.execute(query)).first()
        if row is None:
            raise _not_found(id)
        return RunRecord(**row._mapping)

    async def resolve(
        self,
        id: str,
        *,
        integrations: Collection[str] | None = None,
        connection_ids: Collection[str | None] | None = None,
    ) -> str:
        """The whole id of the run ``id`` names: a stored id as it is, else the one run whose id
        ends with it (a short id, as the CLI prints it). None is :class:`NotFound`, several is
        ``AMBIGUOUS_ID`` naming them; ``integrations`` / ``connection_ids`` limit both to runs
        a caller may see, so an error never names another tenant's run."""
        check_text(id, "run_id")
        async with self._db.read() as conn:
            full = await self._resolve(conn, id, integrations, connection_ids)
        if full is None:
            raise _not_found(id)
        return full

    async def _resolve(
        self,
        conn: AsyncConnection,
        id: str,
        integrations: Collection[str] | None,
        connection_ids: Collection[str | None] | None,
    ) -> str | None:
        """:meth:`resolve` inside a transaction; ``None`` when nothing matches."""
        scope = _visible(integrations, connection_ids)
        exact = _any_of(sa.select(_R.id).where(_R.id == id), scope)
        if not is_short_id(id) or (await conn.execute(exact)).first() is not None:
            return id
        # a suffix cannot use the primary key's index: a scan, paid only for ids that are not whole
        query = sa.select(_R.id, _R.integration, _R.script, _R.created_at).where(
            _R.id.endswith(id.lower(), autoescape=True)
        )
        query = _any_of(query.order_by(_R.created_at.desc(), _R.id.desc()).limit(_CANDIDATES + 1), scope)
        rows = list((await conn.execute(query)).all())
        if len(rows) > 1:
            raise _ambiguous(id, rows)
        return rows[0].id if rows else None

    async def find(
        self,
        *,
        integration: str | None = None,
        script: str | None = None,
        connection_id: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        job_id: str | None = None,
        parent_id: str | None = None,
        since: datetime | None = None,
        integrations: Collection[str] | None = None,
        connection_ids: Collection[str | None] | None = None,
        limit: int = 50,
        before_id: str | None = None,
    ) -> list[RunRecord]:
        """Runs newest first; pass the last id seen as ``before_id`` for the next page.

        ``since`` keeps runs created at or after it. ``integrations`` / ``connection_ids`` keep
        runs of any of those (``None`` among the connection ids keeps runs without a
        connection), so a server can narrow a page to what an access token may see and still
        fill it. ``parent_id`` and ``before_id`` may be short ids (:meth:`resolve`).
        """
        query = sa.select(runs).order_by(_R.created_at.desc(), _R.id.desc()).limit(limit)
        check_text(before_id, "before")
        check_text(parent_id, "parent_id")
        seen = (integrations, connection_ids)
        async with self._db.read() as conn:
            # a short id that names no run finds nothing, as a whole one does
            if parent_id is not None and (parent_id := await self._resolve(conn, parent_id, *seen)) is None:
                return []
            if before_id is not None and (before_id := await self._resolve(conn, before_id, *seen)) is None:
                return []
            for column, value in (
                (_R.integration, integration),
                (_R.script, script),
                (_R.connection_id, connection_id),
                (_R.status, status),
                (_R.kind, kind),
                (_R.job_id, job_id),
                (_R.parent_id, parent_id),
            ):
                check_text(value, column.name)
                if value is not None:
                    query = query.where(column == value)
            if since is not None:
                query = query.where(_R.created_at >= since)
            query = _any_of(query, _visible(*seen))
            if before_id is not None:
                pivot = sa.select(_R.created_at).where(_R.id == before_id).scalar_subquery()
                query = query.where(sa.or_(_R.created_at < pivot, sa.and_(_R.created_at == pivot, _R.id < before_id)))
            rows = (await conn.execute(query)).all()
        return [RunRecord(**row._mapping) for row in rows]

    async def delete(self, id: str) -> None:
        """Delete a run and (by cascade) its logs."""
        async with self._db.write() as conn:
            if (await conn.execute(runs.delete().where(_R.id == id))).rowcount == 0:
                raise _not_found(id)

    async def add_logs(self, run_id: str, lines: list[LogLine]) -> int:
        """Append log lines to a run in one ``executemany``; returns how many."""
        if not lines:
            return 0
        rows = []
        for line in lines:
            _min_level(line.level)
            check_json(line.fields, "log fields", "fields")
            rows.append({"ts": line.ts, "level": line.level, "message": line.message, "fields": line.fields})
        query = sa.select(_R.integration, _R.script, _R.connection_id).where(_R.id == run_id)
        async with self._db.write() as conn:
            owner = (await conn.execute(query)).first()
            if owner is None:
                raise _not_found(run_id)
            common = {"run_id": run_id, **owner._mapping}
            await conn.execute(run_logs.insert(), [{**common, **row} for row in rows])
        return len(rows)

    def add_logs_later(
        self, run_id: str, owner: tuple[str, str, str | None], lines: list[LogLine]
    ) -> asyncio.Future[list[None]]:
        """:meth:`add_logs` in the next group commit, without reading the run back: ``owner``
        is its (integration, script, connection_id). The run's row must be stored already."""
        integration, script, connection_id = owner
        futures = []
        for line in lines:
            _min_level(line.level)
            check_json(line.fields, "log fields", "fields")
            row = {"run_id": run_id, "integration": integration, "script": script, "connection_id": connection_id,
                   "ts": line.ts, "level": line.level, "message": line.message, "fields": line.fields}  # fmt: skip
            futures.append(self._group.submit(_LOG, row))
        return asyncio.gather(*futures)

    async def search_logs(
        self,
        *,
        run_id: str | None = None,
        integration: str | None = None,
        script: str | None = None,
        connection_id: str | None = None,
        level: str | None = None,
        text: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_seq: int | None = None,
        integrations: Collection[str] | None = None,
        connection_ids: Collection[str | None] | None = None,
        limit: int = 200,
        latest: bool = False,
    ) -> list[LogRecord]:
        """Log lines oldest first; ``level`` is a minimum, ``text`` a case-insensitive substring.

        ``latest=True`` returns the newest ``limit`` matches (still oldest first), as ``tail`` does.
        ``run_id`` may be a short id (:meth:`resolve`).
        ``since`` and ``until`` are inclusive; ``integrations`` / ``connection_ids`` as for :meth:`find`.
        """
        query = sa.select(run_logs).order_by(_L.seq.desc() if latest else _L.seq).limit(limit)
        check_text(run_id, "run_id")
        for column, value in (
            (_L.integration, integration),
            (_L.script, script),
            (_L.connection_id, connection_id),
        ):
            check_text(value, column.name)
            if value is not None:
                query = query.where(column == value)
        if level is not None:
            query = query.where(_L.level.in_(_min_level(level)))
        if text:
            query = query.where(_L.message.icontains(text, autoescape=True))
        if since is not None:
            query = query.where(_L.ts >= since)
        if until is not None:
            query = query.where(_L.ts <= until)
        query = _any_of(query, ((_L.integration, integrations), (_L.connection_id, connection_ids)))
        if after_seq is not None:
            query = query.where(_L.seq > after_seq)
        async with self._db.read() as conn:
            if run_id is not None:
                if (run_id := await self._resolve(conn, run_id, integrations, connection_ids)) is None:
                    return []  # a short id that names no run, like a whole one
                query = query.where(_L.run_id == run_id)
            rows = (await conn.execute(query)).all()
        if latest:
            rows.reverse()
        return [LogRecord(**row._mapping) for row in rows]
