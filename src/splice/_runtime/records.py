"""The parent side of ``ctx.records`` and ``ctx.checkpoint`` for one sync run.

Saves are buffered per model and written in batches of :data:`FLUSH_AT` records; a
checkpoint is written in the same transaction as the records buffered before it (SPEC §3),
so a checkpoint never points past records that are not stored, and a sync saving one small
page at a time still writes big transactions (a transaction costs more than 100 rows on
SQLite). Updates and deletes flush the model's buffer first, so changes keep their order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from splice.errors import InvalidInput
from splice.integration import Script
from splice.store import SaveResult, Store, Stream

#: buffered records per model before they are written
FLUSH_AT = 1000
Logger = Callable[[str, str, dict[str, Any]], None]
_COUNTS = ("added", "updated", "unchanged", "deleted", "rejected", "invalid")


class RecordWriter:
    """Buffers, writes and counts one run's records; ``counts`` ends up in the run's output.

    ``seen_by`` is what a saved record is marked seen by for ``track_deletes``: the job's id
    when the run is an attempt of a job, so records saved by an earlier attempt that died
    after its checkpoint count as seen by the attempt that resumes from it (and are not
    deleted when the job succeeds); the run's own id for a run outside any job.
    """

    def __init__(self, store: Store, script: Script, connection_id: str, seen_by: str, log: Logger) -> None:
        self.store = store
        self.script = script
        self.connection_id = connection_id
        self.seen_by = seen_by
        self.log = log
        self.counts: dict[str, dict[str, int]] = {}
        self._pending: dict[str, list[Any]] = {}

    def stream(self, model: str) -> Stream:
        return Stream(self.script.integration.name, self.connection_id, model)

    def count(self, model: str, **counts: int) -> None:
        totals = self.counts.setdefault(model, dict.fromkeys(_COUNTS, 0))
        for key, value in counts.items():
            totals[key] += value

    async def handle(self, op: str, model: str, items: list[Any], invalid: list[Any]) -> dict[str, Any]:
        """``records.save`` / ``update`` / ``delete`` from the script."""
        model = self.script.model(model).__name__
        self.count(model, invalid=len(invalid))
        if op == "save":
            pending = self._pending.setdefault(model, [])
            pending.extend(items)
            if len(pending) >= FLUSH_AT:
                await self.flush(model)
            return {"accepted": len(items), "invalid": invalid}
        await self.flush(model)
        stream = self.stream(model)
        if op == "delete":
            deleted = await self.store.records.delete(stream, items, run_id=self.seen_by)
            self.count(model, deleted=deleted)
            return {"deleted": deleted, "invalid": invalid}
        if op == "update":
            result = await self.store.records.update(stream, items, run_id=self.seen_by)
            self._tally(model, result)
            return {"updated": result.updated, "unchanged": result.unchanged, "rejected": result.rejected}
        raise InvalidInput(f"unknown records operation {op!r}")

    async def flush(self, model: str | None = None, checkpoint: dict[str, Any] | None = None) -> None:
        """Write buffered records (one model, or all); ``checkpoint`` goes in the last transaction."""
        models = [model] if model is not None else [m for m, items in self._pending.items() if items]
        pending = [(m, self._pending.pop(m, [])) for m in models]
        pending = [(m, items) for m, items in pending if items]
        for index, (name, items) in enumerate(pending):
            last = index == len(pending) - 1
            result = await self.store.records.save(
                self.stream(name), items, run_id=self.seen_by, mark_seen=self.script.track_deletes,
                checkpoint=(self.script.name, checkpoint) if last and checkpoint is not None else None,
            )  # fmt: skip
            self._tally(name, result)
        if checkpoint is not None and not pending:
            await self.store.checkpoints.save(*self._checkpoint_key(), checkpoint)

    async def checkpoint(self, op: str, value: Any = None) -> dict[str, Any]:
        """``checkpoint.get`` / ``save`` / ``clear`` from the script."""
        if op == "get":
            return {"value": await self.store.checkpoints.get(*self._checkpoint_key())}
        if op == "save":
            if not isinstance(value, dict):
                raise InvalidInput(
                    f"a checkpoint must be a dict, not {type(value).__name__}", code="INVALID_CHECKPOINT"
                )
            await self.flush(checkpoint=value)
            return {}
        if op == "clear":
            await self.store.checkpoints.clear(*self._checkpoint_key())
            return {}
        raise InvalidInput(f"unknown checkpoint operation {op!r}")

    async def delete_unseen(self) -> None:
        """track_deletes, after a successful run: soft-delete what this job (every attempt) did not save."""
        for model in self.script.models:
            deleted = await self.store.records.delete_unseen(self.stream(model.__name__), self.seen_by)
            self.count(model.__name__, deleted=deleted)

    def _checkpoint_key(self) -> tuple[str, str, str]:
        return self.script.integration.name, self.connection_id, self.script.name

    def _tally(self, model: str, result: SaveResult) -> None:
        for rejected in result.rejected:
            self.log("warning", f"{model} record {rejected.get('id')!r} not saved: {rejected.get('reason')}", rejected)
        self.count(
            model, added=result.added, updated=result.updated, unchanged=result.unchanged, rejected=len(result.rejected)
        )
