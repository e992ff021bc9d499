"""``ctx.records`` (syncs): save, update and soft-delete records of the sync's models."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from splice._runtime.capability import RECORDS
from splice._runtime.channel import Channel
from splice.context._log import Log
from splice.errors import InvalidInput
from splice.integration import Script


class Records:
    """``ctx.records`` (syncs): save, update and soft-delete records of the sync's models.

    Items are validated against the model (a dict or a model instance); invalid items are
    reported by id and field in the run's log and in the returned result, and the valid items
    of the batch are saved.
    """

    def __init__(self, channel: Channel, script: Script, log: Log) -> None:
        self._channel = channel
        self._script = script
        self._log = log
        self._adapters: dict[str, TypeAdapter[list[Any]]] = {}

    async def save(self, items: list[Any], model: str | None = None) -> dict[str, Any]:
        """Upsert by ``id``; unchanged items keep their ``last_modified_at``."""
        return await self._send("save", items, model)

    async def update(self, items: list[Any], model: str | None = None) -> dict[str, Any]:
        """Deep-merge partial items (each with an ``id``) into the stored records."""
        return await self._send("update", items, model, validate=False)

    async def delete(self, ids_or_items: list[Any], model: str | None = None) -> dict[str, Any]:
        """Soft-delete: the records stay readable, marked deleted."""
        ids = [
            item.get("id") if isinstance(item, dict) else getattr(item, "id", item) for item in _as_list(ids_or_items)
        ]
        return await self._send("delete", ids, model, validate=False)

    async def _send(self, op: str, items: Any, model: str | None, validate: bool = True) -> dict[str, Any]:
        cls = self._script.model(model)
        batch = _as_list(items)
        invalid: list[dict[str, Any]] = []
        if validate:
            batch, invalid = self._validate(cls, batch)
        else:
            batch = [i.model_dump(mode="json") if isinstance(i, BaseModel) else i for i in batch]
        for bad in invalid:
            self._log.warning(f"invalid {cls.__name__} record {bad['id']!r}: {bad['error']}", **bad)
        try:
            blob = orjson.dumps(batch)
        except TypeError as exc:
            raise InvalidInput(f"records are not JSON-serialisable: {exc}") from None
        result, _ = await self._channel.call(RECORDS.op(op), {"model": cls.__name__, "invalid": invalid}, blob)
        return result

    def _validate(self, cls: type[BaseModel], batch: list[Any]) -> tuple[list[Any], list[dict[str, Any]]]:
        adapter = self._adapters.get(cls.__name__)
        if adapter is None:
            adapter = self._adapters[cls.__name__] = TypeAdapter(list[cls])  # type: ignore[valid-type]
        try:
            return adapter.dump_python(adapter.validate_python(batch), mode="json"), []
        except ValidationError:
            pass
        valid: list[Any] = []
        invalid: list[dict[str, Any]] = []
        for item in batch:
            try:
                valid.append(cls.model_validate(item).model_dump(mode="json"))
            except ValidationError as exc:
                ident = item.get("id") if isinstance(item, dict) else getattr(item, "id", None)
                errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
                error = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
                invalid.append(
                    {"id": ident if isinstance(ident, str | int) else None, "error": error, "errors": errors}
                )
        return valid, invalid


def _as_list(items: Any) -> list[Any]:
    if isinstance(items, list | tuple):
        return list(items)
    raise InvalidInput(f"records must be a list, not {type(items).__name__}")
