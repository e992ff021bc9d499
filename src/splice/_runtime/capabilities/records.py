"""``ctx.records`` (syncs): saves, updates and deletes, buffered and counted by the run's writer.

When the run ends its buffer is written; after a successful run, records the job did not
save are soft-deleted (``track_deletes``) and the counts become the run's output.
"""

from __future__ import annotations

from typing import Any

import orjson

from splice._runtime.capabilities._scope import Handler
from splice._runtime.capability import RECORDS
from splice._runtime.records import RecordWriter
from splice._runtime.request import RunOutcome
from splice.errors import InvalidInput


class RecordsHandler(Handler):
    spec = RECORDS

    async def save(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        return await self._handle("save", args, blob)

    async def update(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        return await self._handle("update", args, blob)

    async def delete(self, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        return await self._handle("delete", args, blob)

    async def _handle(self, op: str, args: dict[str, Any], blob: bytes) -> dict[str, Any]:
        try:
            items = orjson.loads(blob) if blob else []
        except orjson.JSONDecodeError:
            raise InvalidInput("records batch is not valid JSON") from None
        invalid = args.get("invalid") if isinstance(args.get("invalid"), list) else []
        return await self._writer().handle(op, str(args.get("model")), items, invalid)

    def _writer(self) -> RecordWriter:
        assert self.scope.records is not None  # the runner gives a writer to every run granted records
        return self.scope.records

    async def finish(self, outcome: RunOutcome) -> RunOutcome:
        """Write what is buffered; after success only, delete what the job did not see and count.

        A failed or interrupted run deletes nothing (SPEC §3).
        """
        writer = self._writer()
        await writer.flush()
        if not outcome.ok:
            return outcome
        if writer.script.track_deletes:
            await writer.delete_unseen()
        result: dict[str, Any] = {"records": writer.counts}
        if outcome.output is not None:
            result["result"] = outcome.output
        return RunOutcome.succeeded(result)
