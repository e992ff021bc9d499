"""The read commands against a running ``splice serve`` (``--server URL``) instead of a local project.

:class:`RemoteRuntime` has the few reading services of :class:`~splice.runtime.Runtime` that
``connections list|show``, ``syncs list``, ``records``, ``logs``, ``runs list|show`` and
``lookups list|get`` call (``rt.connections``, ``rt.syncs``, ``rt.records``, ``rt.runs``,
``rt.lookups``), and ``splice deploy``'s (``rt.deploys``), implemented over the REST API with
a bearer token, and returning objects those commands print exactly as they print local ones. A failed request raises a
:class:`~splice.errors.SpliceError` rebuilt from the server's ``{"error": {...}}`` envelope,
so it ends as the same ``error:`` / ``hint:`` lines.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
from yarl import URL

from splice import errors
from splice.store import LogRecord, RecordPage, RunRecord

#: seconds a request may take before the command gives up
TIMEOUT = 60.0
#: what ``GET /logs`` returns at most per request
MAX_LOG_LINES = 1000
#: what ``GET /runs`` returns at most per request
MAX_RUNS = 500
NEW_TOKEN = "create one where the server's project is with `splice tokens create NAME`"
DEPLOY_TOKEN = (
    "create a deploy token where the server's project is (splice tokens create NAME --deploy), set SPLICE_TOKEN to it"
)
_RECORD_TIMES = ("first_seen_at", "last_modified_at", "deleted_at")
_RUN_TIMES = ("created_at", "started_at", "finished_at")
_SYNC_KEYS = frozenset(("sync", "connection", "schedule", "overridden", "paused", "connection_status", "last_run",
                        "next_run", "records"))  # fmt: skip


class RemoteConnection:
    """A connection as ``GET /connections`` returns it: credential field names, never values."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.integration: str = data["integration"]
        self.id: str = data["id"]
        self.config: dict[str, Any] = data["config"]
        self.metadata: dict[str, Any] = data["metadata"]
        self.status: str = data["status"]
        self.status_error: dict[str, Any] | None = data["status_error"]
        #: the names only (a local Connection holds the values; listings show only names)
        self.credentials: list[str] = list(data["credential_fields"])
        self.created_at = _time(data["created_at"])
        self.updated_at = _time(data["updated_at"])

    def public(self) -> dict[str, Any]:
        """The same dict :meth:`splice.store.Connection.public` gives."""
        return {
            "integration": self.integration,
            "id": self.id,
            "config": self.config,
            "metadata": self.metadata,
            "status": self.status,
            "status_error": self.status_error,
            "credential_fields": sorted(self.credentials),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class RemoteSyncs:
    """``rt.syncs`` for a remote server: listing only."""

    def __init__(self, remote: RemoteRuntime) -> None:
        self._remote = remote

    async def list(self, integration: str | None = None) -> list[dict[str, Any]]:
        rows = await self._remote.get(("syncs",), integration=integration)
        with self._remote._parsing():
            if not all(row.keys() >= _SYNC_KEYS for row in rows):
                raise KeyError("sync")
        return list(rows)


class RemoteConnections:
    """``rt.connections`` for a remote server: listing and showing."""

    def __init__(self, remote: RemoteRuntime) -> None:
        self._remote = remote

    async def list(self, integration: str | None = None) -> list[RemoteConnection]:
        rows = await self._remote.get(("connections",), integration=integration)
        with self._remote._parsing():
            return [RemoteConnection(c) for c in rows]

    async def get(self, integration: str, connection_id: str) -> RemoteConnection:
        data = await self._remote.get(("connections", integration, connection_id))
        with self._remote._parsing():
            return RemoteConnection(data)


class RemoteRecords:
    """``rt.records`` for a remote server."""

    def __init__(self, remote: RemoteRuntime) -> None:
        self._remote = remote

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
        page = await self._remote.get(
            ("records", integration, model),
            connection_id=connection,
            cursor=cursor,
            modified_after=modified_after,
            filter=",".join(sorted(filter)) if filter is not None else None,
            ids=",".join(ids) if ids is not None else None,
            limit=limit,
        )
        with self._remote._parsing():
            for record in page["records"]:
                meta = record.get("_splice")
                if isinstance(meta, dict):  # times as a local read has them (the server writes them with a Z)
                    for key in _RECORD_TIMES:
                        if isinstance(meta.get(key), str):
                            meta[key] = _time(meta[key])
            return RecordPage(page["records"], page["next_cursor"])


class RemoteRuns:
    """``rt.runs`` for a remote server: runs and log lines."""

    def __init__(self, remote: RemoteRuntime) -> None:
        self._remote = remote

    async def get(self, run_id: str) -> RunRecord:
        """``GET /runs/{id}``: the server resolves a short id as a local store does."""
        data = await self._remote.get(("runs", run_id))
        with self._remote._parsing():
            return _run(data)

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
        limit: int = 50,
        before_id: str | None = None,
    ) -> list[RunRecord]:
        if limit > MAX_RUNS:
            raise errors.InvalidInput(
                f"a server returns at most {MAX_RUNS} runs per request; --limit {limit} is more",
                hint=f"pass --limit {MAX_RUNS} or less and page on with --before",
            )
        rows = await self._remote.get(
            ("runs",),
            integration=integration,
            script=script,
            connection_id=connection_id,
            status=status,
            kind=kind,
            job_id=job_id,
            parent_id=parent_id,
            since=since,
            limit=limit,
            before=before_id,
        )
        with self._remote._parsing():
            return [_run(row) for row in rows]

    async def attempts(self, job_id: str) -> list[RunRecord]:
        """Every run of a job, newest first; :class:`~splice.errors.NotFound` as a local one says it."""
        runs = await self.find(job_id=job_id, limit=MAX_RUNS)
        if not runs:
            raise errors.NotFound(
                f"no run of job {job_id!r} yet",
                details={"job_id": job_id},
                hint="a queued job's first run starts when the server's worker picks it up; check the job id",
            )
        return runs

    async def logs(
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
        limit: int = 200,
        latest: bool = False,
    ) -> list[LogRecord]:
        if limit > MAX_LOG_LINES:
            raise errors.InvalidInput(
                f"a server returns at most {MAX_LOG_LINES} log lines per request; --limit {limit} is more",
                hint=f"pass --limit {MAX_LOG_LINES} or less (or narrow the search with --since, --run, --search)",
            )
        lines = await self._remote.get(
            ("logs",),
            run_id=run_id,
            integration=integration,
            script=script,
            connection_id=connection_id,
            level=level,
            q=text,
            since=since,
            until=until,
            after_seq=after_seq,
            limit=limit,
            latest=latest,
        )
        with self._remote._parsing():
            return [LogRecord(**{**line, "ts": _time(line["ts"])}) for line in lines]


class RemoteLookups:
    """``rt.lookups`` for a remote server: listing caches and reading their entries."""

    def __init__(self, remote: RemoteRuntime) -> None:
        self._remote = remote

    async def list(self) -> list[dict[str, Any]]:
        return list(await self._remote.get(("lookup_caches",)))

    async def get_data(
        self,
        cache: str,
        keys: list[str] | None = None,
        starts_with: str | None = None,
        page_size: int = 1000,
        start_after_key: str | None = None,
    ) -> dict[str, Any]:
        page = await self._remote.get(
            ("lookup_caches", cache, "data"), keys=keys or None, starts_with=starts_with, page_size=page_size,
            start_after_key=start_after_key,
        )  # fmt: skip
        with self._remote._parsing():
            return {"data": list(page["data"]), "next_page_url": page["next_page_url"]}


class RemoteDeploys:
    """``splice deploy``'s calls: upload a version, list them, roll back."""

    def __init__(self, remote: RemoteRuntime) -> None:
        self._remote = remote

    async def create(self, archive: bytes, message: str | None = None) -> dict[str, Any]:
        return await self._version(self._remote.send("POST", ("deploys",), {"message": message}, data=archive))

    async def list(self) -> list[dict[str, Any]]:
        rows = await self._remote.get(("deploys",))
        with self._remote._parsing():
            return [_deployed(row) for row in rows]

    async def rollback(self, to: int | None = None) -> dict[str, Any]:
        return await self._version(self._remote.send("POST", ("deploys", "rollback"), json={"to": to}))

    async def _version(self, sent: Any) -> dict[str, Any]:
        data = await sent
        with self._remote._parsing():
            return _deployed(data)


class RemoteRuntime:
    """The reading half of a Runtime, over ``splice serve``'s REST API."""

    def __init__(self, server: str, token: str | None) -> None:
        self.server = _base_url(server)
        self.token = token
        headers = {"Accept": "application/json", "User-Agent": "splice-cli"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._session = aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=TIMEOUT))
        self.syncs = RemoteSyncs(self)
        self.connections = RemoteConnections(self)
        self.records = RemoteRecords(self)
        self.runs = RemoteRuns(self)
        self.lookups = RemoteLookups(self)
        self.deploys = RemoteDeploys(self)

    async def close(self) -> None:
        await self._session.close()

    # --- HTTP ----------------------------------------------------------------------------

    async def get(self, path: tuple[str, ...], **params: Any) -> Any:
        """``GET`` a path (its segments quoted) with the non-``None`` params; the parsed JSON."""
        return await self.send("GET", path, params)

    async def send(
        self,
        method: str,
        path: tuple[str, ...],
        params: dict[str, Any] | None = None,
        *,
        data: bytes | None = None,
        json: Any = None,
    ) -> Any:
        """``method`` a path with the non-``None`` params and a body (raw ``data`` or ``json``); the parsed JSON."""
        url = self.server
        for segment in path:
            url = url / segment
        query = [
            (name, _param(item))
            for name, value in (params or {}).items()
            if value is not None
            for item in (value if isinstance(value, list) else [value])
        ]
        body_args: dict[str, Any] = {}
        if data is not None:
            # a stream, not bytes: aiohttp warns that a large bytes body would hold up the event loop
            body_args = {"data": io.BytesIO(data), "headers": {"Content-Type": "application/octet-stream"}}
        elif json is not None:
            body_args = {"data": orjson.dumps(json), "headers": {"Content-Type": "application/json"}}
        try:
            async with self._session.request(method, url, params=query, **body_args) as response:
                body = await response.read()
                status, reason = response.status, response.reason
        except TimeoutError:  # before ClientConnectionError: aiohttp's timeouts are both
            raise errors.Unavailable(
                f"the splice server at {self.server} did not answer within {TIMEOUT:.0f} s",
                code="SERVER_TIMEOUT",
                hint="is `splice serve` running there? check --server / SPLICE_SERVER",
            ) from None
        except (aiohttp.ClientConnectionError, OSError) as exc:
            raise errors.Unavailable(
                f"cannot reach the splice server at {self.server}: {_reason(exc)}",
                code="SERVER_UNREACHABLE",
                hint="is `splice serve` running there? check --server / SPLICE_SERVER",
            ) from None
        try:
            data = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            data = None
        if status >= 400 or data is None:
            raise self._error(status, reason, data)
        return data

    @contextmanager
    def _parsing(self) -> Iterator[None]:
        """A body of another shape than the API's (``--server`` points elsewhere) is a clear error, not a crash."""
        try:
            yield
        except (KeyError, TypeError, ValueError, AttributeError):
            raise self._error(200, "OK", None) from None

    def _error(self, status: int, reason: str | None, data: Any) -> errors.SpliceError:
        error = data.get("error") if isinstance(data, dict) else None
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            answer = f"HTTP {status} {reason}" if reason else f"HTTP {status}"
            return errors.SpliceError(
                f"the server at {self.server} does not answer like splice's API ({answer})",
                code="SERVER_ERROR",
                hint="check that --server / SPLICE_SERVER points at `splice serve`",
            )
        message = error["message"]
        if status >= 500 and isinstance(error.get("request_id"), str):
            message += f" (request id {error['request_id']})"
        rebuilt = errors.error_from_dict(
            {
                "code": str(error.get("code") or "SPLICE_ERROR"),
                "message": message,
                "details": error.get("details") if isinstance(error.get("details"), dict) else {},
                "hint": error.get("hint") if isinstance(error.get("hint"), str) else None,
            }
        )
        if isinstance(rebuilt, errors.Unauthorized):
            rebuilt.hint = self._token_hint()
        elif isinstance(rebuilt, errors.DeployNotAllowed):  # the server words its hint for REST
            rebuilt.hint = DEPLOY_TOKEN
        return rebuilt

    def _token_hint(self) -> str:
        if not self.token:
            return f"set SPLICE_TOKEN (or pass --token); {NEW_TOKEN}"
        return f"the token may be mistyped or revoked; {NEW_TOKEN} and set SPLICE_TOKEN to it"


def _base_url(server: str) -> URL:
    try:
        url = URL(server.strip().rstrip("/"))
    except ValueError:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise errors.InvalidInput(
            f"--server {server!r} is not an http:// or https:// URL", hint="e.g. --server http://127.0.0.1:8080"
        )
    return url.with_query(None).with_fragment(None)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):  # UTC with a Z: a "+00:00" would need quoting to survive a query string
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _run(data: dict[str, Any]) -> RunRecord:
    """A run as ``GET /runs`` has it, as the local store's record (its ``owner`` is not shown)."""
    times = {name: _time(data[name]) if data[name] is not None else None for name in _RUN_TIMES}
    fields = {name: data[name] for name in RunRecord.__slots__ if name != "owner" and name not in times}
    return RunRecord(**fields, **times)


def _deployed(data: dict[str, Any]) -> dict[str, Any]:
    """A version as ``/deploys`` answers it, its time parsed (a missing key is a parse error)."""
    keys = ("number", "digest", "size", "created_by", "message", "rollback_of", "current")
    found = {key: data[key] for key in keys}
    return {**found, "created_at": _time(data["created_at"]), "unchanged": bool(data.get("unchanged"))}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection refused"
        return exc.os_error.strerror or str(exc.os_error) or "connection failed"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "it closed the connection"
    return str(exc) or type(exc).__name__


__all__ = ["RemoteConnection", "RemoteRuntime"]
