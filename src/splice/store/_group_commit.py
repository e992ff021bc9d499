"""Group commit: many small writes from concurrent callers share one transaction.

Why: a busy server records two run rows per webhook (started, finished). Written one
transaction each, they queue behind SQLite's single writer, and each transaction costs several
round trips to the driver's thread; that, not the scripts, capped a trivial webhook at ~150
requests/s. Here a caller's write waits at most for the transaction in progress: whatever
arrived meanwhile is written together, one ``executemany`` per statement, then every caller
resumes. Each caller still returns only after its row is committed, so nothing is acknowledged
that a crash could lose.

A batch that fails is retried row by row, each in its own transaction, so one bad row fails
only its own caller (with the error it would have had alone).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from splice.store._engine import Database

_Write = tuple[Any, dict[str, Any], asyncio.Future[None]]


class GroupCommit:
    """Writes of prepared statements, committed together with whatever else is waiting."""

    def __init__(
        self, db: Database, translate: Callable[[Exception, dict[str, Any]], Exception | None] = lambda *_: None
    ) -> None:
        """``translate(error, params)`` maps a database error to the one the caller sees (``None``: as is)."""
        self._db = db
        self._translate = translate
        self._waiting: list[_Write] = []
        self._flusher: asyncio.Task[None] | None = None

    async def write(self, statement: Any, params: dict[str, Any]) -> None:
        """Execute ``statement`` with ``params`` in the next group transaction; return once committed.

        ``statement`` should be built once and reused: writes are grouped by statement
        identity into one ``executemany`` each, in the order the statements first arrived.
        """
        await asyncio.shield(self.submit(statement, params))

    def submit(self, statement: Any, params: dict[str, Any]) -> asyncio.Future[None]:
        """Like :meth:`write`, without waiting: the future is done once the write is committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._waiting.append((statement, params, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="splice-group-commit")
        return future

    async def drain(self) -> None:
        """Wait until everything submitted so far is written (before closing the database)."""
        while self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        batch: list[_Write] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await self._execute(batch)
                except Exception:
                    await self._one_by_one(batch)
                else:
                    _settle(batch, None)
        except BaseException:  # cancelled (shutdown): nobody may wait forever
            for _, _, future in batch + self._waiting:
                future.cancel()
            raise
        finally:
            self._flusher = None

    async def _execute(self, batch: list[_Write]) -> None:
        groups: dict[int, tuple[Any, list[dict[str, Any]]]] = {}
        for statement, params, _ in batch:
            groups.setdefault(id(statement), (statement, []))[1].append(params)
        async with self._db.write() as conn:
            for statement, rows in groups.values():
                await conn.execute(statement, rows)

    async def _one_by_one(self, batch: list[_Write]) -> None:
        for statement, params, future in batch:
            try:
                async with self._db.write() as conn:
                    await conn.execute(statement, params)
            except Exception as exc:
                _settle([(statement, params, future)], self._translate(exc, params) or exc)
            else:
                _settle([(statement, params, future)], None)


def _retrieve(future: asyncio.Future[None]) -> None:
    """Mark a failure seen, for a caller that was cancelled and will never look."""
    if not future.cancelled():
        future.exception()


def _settle(writes: list[_Write], error: Exception | None) -> None:
    for _, _, future in writes:
        if not future.done():
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)
