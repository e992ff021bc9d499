"""``ctx``: what a script is given. Everything here runs inside the run's child process.

Nothing in this module holds a network socket, a database handle or another connection's
credentials: every capability is a call over the run's :class:`Channel` to the parent.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import orjson
from multidict import CIMultiDict
from pydantic import BaseModel, TypeAdapter, ValidationError

from splice import _json
from splice._runtime.channel import Channel
from splice._runtime.wire import MAX_LOG_LINES
from splice.errors import InvalidInput
from splice.integration import Script
from splice.paginate import BasePaginator, PageRequest, PageResponse, iterate_pages

ResponseType = Literal["json", "bytes", "text", "stream"]
StateScope = Literal["script", "connection", "integration", "global"]
LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What a script may know about its own run (``ctx.run``)."""

    id: str
    integration: str
    script: str
    connection_id: str | None
    started_at: datetime
    attempt: int = 1
    flow: str | None = None
    step: str | None = None
    test_mode: bool = False


@dataclass(slots=True)
class FullResponse:
    """``return_full_response=True``: status, headers and the parsed body."""

    status: int
    headers: CIMultiDict[str]
    data: Any
    url: str = ""


class Log:
    """``ctx.log.info("synced", count=3)``; fields must be JSON-serialisable.

    A run keeps at most ``MAX_LOG_LINES`` lines; past that they are counted, not sent, and
    the run's log ends with a warning saying how many were dropped.
    """

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._sent = 0
        self._dropped = 0

    def _write(self, level: str, message: Any, fields: dict[str, Any]) -> None:
        if self._sent >= MAX_LOG_LINES:
            self._dropped += 1
            return
        self._sent += 1
        fields = _json.finite_or_named(fields)
        self._channel.emit({"t": "log", "level": level, "message": str(message), "fields": fields, "ts": time.time()})

    def flush(self) -> None:
        """Tell the parent how many lines were dropped (the runtime calls this when a run ends)."""
        if self._dropped:
            self._channel.emit({"t": "dropped", "count": self._dropped})
            self._dropped = 0

    def debug(self, message: Any, **fields: Any) -> None:
        self._write("debug", message, fields)

    def info(self, message: Any, **fields: Any) -> None:
        self._write("info", message, fields)

    def warning(self, message: Any, **fields: Any) -> None:
        self._write("warning", message, fields)

    def error(self, message: Any, **fields: Any) -> None:
        self._write("error", message, fields)


class ApiClient:
    """``ctx.api``: the connection's API, with credentials injected by the parent.

    >>> contact = await ctx.api.post("/contacts", {"email": "a@b.test"})
    >>> async for page in ctx.api.paginate("/contacts"):
    ...     ...
    """

    def __init__(self, channel: Channel, target: str, paginator: BasePaginator | None = None) -> None:
        self._channel = channel
        self._target = target
        self._paginator = paginator

    async def get(self, path: str, query: Mapping[str, Any] | None = None, **options: Any) -> Any:
        return await self.request("GET", path, query=query, **options)

    async def post(self, path: str, data: Any = None, **options: Any) -> Any:
        return await self.request("POST", path, data=data, **options)

    async def put(self, path: str, data: Any = None, **options: Any) -> Any:
        return await self.request("PUT", path, data=data, **options)

    async def patch(self, path: str, data: Any = None, **options: Any) -> Any:
        return await self.request("PATCH", path, data=data, **options)

    async def delete(self, path: str, data: Any = None, **options: Any) -> Any:
        return await self.request("DELETE", path, data=data, **options)

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        base_uri: str | None = None,
        auth: tuple[str, str] | None = None,
        return_full_response: bool = False,
        response_type: ResponseType = "json",
        timeout: float | None = None,
        retries: int | None = None,
    ) -> Any:
        """Any HTTP method; returns the parsed body (or a :class:`FullResponse`)."""
        if response_type not in ("json", "bytes", "text", "stream"):
            raise InvalidInput(f"response_type must be json, bytes, text or stream, not {response_type!r}")
        args, body = self._spec(method, path, query, data, headers, base_uri, auth, timeout, retries)
        if response_type == "stream":
            head, chunks = await self._channel.stream(args, body)
            if return_full_response:
                return FullResponse(head["status"], CIMultiDict(head["headers"]), chunks, head["url"])
            return chunks
        head, content = await self._channel.call("http", args, body)
        parsed = _parse(content, head["headers"], response_type)
        if return_full_response:
            return FullResponse(head["status"], CIMultiDict(head["headers"]), parsed, head["url"])
        return parsed

    def _spec(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None,
        data: Any,
        headers: Mapping[str, str] | None,
        base_uri: str | None,
        auth: tuple[str, str] | None,
        timeout: float | None,
        retries: int | None,
    ) -> tuple[dict[str, Any], bytes]:
        if not isinstance(path, str) or not path:
            raise InvalidInput("path must be a non-empty string such as '/contacts'")
        hdrs = {str(k): str(v) for k, v in (headers or {}).items()}
        body, content_type = _encode_body(data)
        if content_type and not any(k.lower() == "content-type" for k in hdrs):
            hdrs["Content-Type"] = content_type
        if auth is not None and (not isinstance(auth, tuple | list) or len(auth) != 2):
            raise InvalidInput("auth must be a (username, password) pair")
        args = {
            "target": self._target,
            "method": method.upper(),
            "path": path,
            "query": _flatten_query(query),
            "headers": hdrs,
            "base_uri": base_uri,
            "auth": list(auth) if auth else None,
            "timeout": timeout,
            "retries": retries,
            "has_body": body is not None,
        }
        return args, body or b""

    def paginate(
        self,
        path: str,
        query: Mapping[str, Any] | None = None,
        *,
        method: str = "GET",
        data: Any = None,
        strategy: BasePaginator | None = None,
        items_path: str | None = None,
    ) -> AsyncIterator[list[Any]]:
        """Pages (lists of items) from ``path`` using ``strategy`` or the integration's default."""
        paginator = strategy or self._paginator
        if paginator is None:
            raise InvalidInput(
                "no pagination strategy: pass strategy=paginate.Cursor(...) or set the integration's paginate="
            )
        paginator = paginator.fresh()
        if items_path is not None:
            paginator.items_path = items_path

        async def fetch(request: PageRequest) -> PageResponse:
            full = await self.request(
                method, request.path, query=request.query, data=request.data, return_full_response=True
            )
            return PageResponse(full.status, full.headers, full.data, full.url)

        return iterate_pages(paginator, PageRequest(path, dict(query or {}), data), fetch)


class Metadata:
    """``ctx.metadata``: free-form JSON stored on the connection."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def get(self) -> dict[str, Any]:
        return (await self._channel.call("metadata.get", {}))[0]["value"]

    async def set(self, value: dict[str, Any]) -> None:
        await self._channel.call("metadata.set", {"value": _json_object(value, "metadata")})

    async def update(self, value: dict[str, Any]) -> dict[str, Any]:
        return (await self._channel.call("metadata.update", {"value": _json_object(value, "metadata")}))[0]["value"]


class State:
    """``ctx.state``: JSON values by key; default scope is this script × this connection."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def get(self, key: str, default: Any = None, scope: StateScope = "script") -> Any:
        result, _ = await self._channel.call("state.get", {"key": _key(key), "scope": scope})
        return result["value"] if result.get("found") else default

    async def put(self, key: str, value: Any, scope: StateScope = "script") -> None:
        key = _key(key)
        value = _json_value(value, f"state value for {key!r}")
        await self._channel.call("state.put", {"key": key, "scope": scope, "value": value})

    async def delete(self, key: str, scope: StateScope = "script") -> bool:
        return (await self._channel.call("state.delete", {"key": _key(key), "scope": scope}))[0]["deleted"]

    async def keys(self, prefix: str | None = None, scope: StateScope = "script") -> list[str]:
        return (await self._channel.call("state.keys", {"prefix": prefix, "scope": scope}))[0]["keys"]


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
        result, _ = await self._channel.call(f"records.{op}", {"model": cls.__name__, "invalid": invalid}, blob)
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


class Checkpoint:
    """``ctx.checkpoint`` (syncs): where this sync got to, for this connection."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def get(self) -> dict[str, Any]:
        return (await self._channel.call("checkpoint.get", {}))[0]["value"]

    async def save(self, value: dict[str, Any]) -> None:
        """Store ``value``; records saved before this call are already durable."""
        await self._channel.call("checkpoint.save", {"value": _json_object(value, "checkpoint")})

    async def clear(self) -> None:
        await self._channel.call("checkpoint.clear", {})


class Context:
    """The ``ctx`` argument of every script (SPEC §2.2)."""

    def __init__(
        self,
        channel: Channel,
        *,
        run: RunInfo,
        credentials: Mapping[str, Any],
        config: Mapping[str, Any],
        env: Mapping[str, str],
        paginator: BasePaginator | None = None,
        script: Script | None = None,
        scratch_dir: str | Callable[[], str] | None = None,
    ) -> None:
        """``scratch_dir``: the directory, or a function making it on first use (in-process runs)."""
        self._channel = channel
        self.run = run
        self._scratch = scratch_dir
        self.credentials = MappingProxyType(dict(credentials))
        self.config = MappingProxyType(dict(config))
        self.env = MappingProxyType(dict(env))
        self.api = ApiClient(channel, "api", paginator)
        self.external_api = self.api
        self.internal_api = ApiClient(channel, "internal")
        self.log = Log(channel)
        self.metadata = Metadata(channel)
        self.state = State(channel)
        if script is not None and script.kind == "sync":
            self.records = Records(channel, script, self.log)
            self.checkpoint = Checkpoint(channel)

    @property
    def scratch_dir(self) -> Path | None:
        """The run's own empty directory, removed when it ends; in a sandboxed run the only
        place it may write (``$TMPDIR`` and ``tempfile`` point there too)."""
        if callable(self._scratch):
            self._scratch = self._scratch()
        return Path(self._scratch) if self._scratch else None

    async def trigger_action(self, name: str, input: Any = None, connection: str | None = None) -> Any:
        """Run another action (``"create_contact"`` or ``"acme.create_contact"``); returns its output."""
        if isinstance(input, BaseModel):
            input = input.model_dump(mode="json")
        result, _ = await self._channel.call("trigger_action", {"name": name, "input": input, "connection": connection})
        return result["output"]


def _as_list(items: Any) -> list[Any]:
    if isinstance(items, list | tuple):
        return list(items)
    raise InvalidInput(f"records must be a list, not {type(items).__name__}")


def _encode_body(data: Any) -> tuple[bytes | None, str | None]:
    if data is None:
        return None, None
    if isinstance(data, bytes | bytearray):
        return bytes(data), "application/octet-stream"
    if isinstance(data, str):
        return data.encode(), "text/plain; charset=utf-8"
    if isinstance(data, BaseModel):
        return data.model_dump_json().encode(), "application/json"
    try:
        return orjson.dumps(data, default=_model_default), "application/json"
    except TypeError as exc:
        raise InvalidInput(f"request data is not JSON-serialisable: {exc}") from None


def _model_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def _flatten_query(query: Mapping[str, Any] | None) -> list[list[str]]:
    if not query:
        return []
    if not isinstance(query, Mapping):
        raise InvalidInput("query must be a mapping of parameter names to values")
    pairs: list[list[str]] = []
    for name, value in query.items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            text = ("true" if item else "false") if isinstance(item, bool) else str(item)
            pairs.append([str(name), text])
    return pairs


def _parse(content: bytes, headers: list[list[str]], response_type: ResponseType) -> Any:
    if response_type == "bytes":
        return content
    if response_type == "text":
        return content.decode("utf-8", errors="replace")
    if not content:
        return None
    ctype = next((v for k, v in headers if k.lower() == "content-type"), "").split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass
    return content.decode("utf-8", errors="replace")


def _key(key: Any) -> str:
    if not isinstance(key, str) or not key or len(key) > 512:
        raise InvalidInput(f"state key must be a non-empty string of at most 512 characters, not {key!r}")
    return key


def _json_value(value: Any, what: str, field: str = "value") -> Any:
    """``value`` as the JSON the parent will store: refused here if it holds NaN or Infinity,
    which the socket's JSON would otherwise turn into ``null``."""
    return orjson.loads(_json.encode(value, what, field, strict=False))


def _json_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a dict, not {type(value).__name__}")
    return _json_value(value, what, what)
