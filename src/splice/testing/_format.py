"""The fixture file: one recorded run of one script, as stable, diff-friendly JSON.

A fixture is read by people in code review and diffed when it is re-recorded, so it is JSON
with sorted keys, two-space indents and a trailing newline; exchanges stay in the order they
happened. Headers that change on every call (``date``, ``server``, lengths) are left out.
Bodies are ``{"json": ...}`` when the body is JSON, ``{"text": "..."}`` when it is text,
``{"base64": "..."}`` otherwise, and ``null`` when empty::

    {
      "connection": {"config": {...}, "credentials": {"api_key": "{{secret:credentials.api_key}}"},
                     "id": "c1", "metadata": {}},
      "exchanges": [
        {"request": {"body": {"json": {"email": "ada@example.com"}}, "headers": {...},
                     "method": "POST", "query": [], "url": "http://127.0.0.1:8765/api/contacts"},
         "response": {"body": {"json": {"id": "c_1", ...}}, "headers": {...}, "status": 201}}
      ],
      "checkpoint": null, "deleted": {}, "format_version": 2, "input": {...}, "kind": "action",
      "logs": [...], "output": {...}, "recorded_at": "2026-11-01T12:00:00+00:00", "records": {},
      "script": "acme.create_contact", "status": "succeeded"
    }

A sync's fixture also has the records it saved (``records``, by model), the ids it deleted
(``deleted``) and the checkpoint it left (``checkpoint``). A trigger's ``input`` is the request
(method, path, headers, query, body; its signature header left out: the harness signs anew)
and its ``output`` the response it answered.

``format_version`` says which layout a file has. An older one is upgraded as it is read
(:data:`MIGRATIONS`: version 1 lacked ``checkpoint`` and ``deleted``); a newer one is refused
with what to do.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from multidict import CIMultiDict

from splice.errors import FixtureError

FORMAT_VERSION = 2


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 added a sync's ``checkpoint`` and ``deleted`` ids; a version 1 file recorded neither."""
    return {**data, "format_version": 2, "checkpoint": None, "deleted": {}}


#: upgrades of an older layout to the next one, by the version they read
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}
#: response and request headers that differ on every call and say nothing about the API
NOISY_HEADERS = frozenset({"date", "server", "content-length", "transfer-encoding", "connection", "keep-alive"})
KINDS = ("action", "sync", "trigger", "flow")


@dataclass(slots=True)
class RecordedRequest:
    method: str
    url: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None


@dataclass(slots=True)
class RecordedResponse:
    status: int
    headers: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None

    def content(self) -> bytes:
        return decode_body(self.body)

    def header_items(self) -> CIMultiDict[str]:
        headers: CIMultiDict[str] = CIMultiDict()
        for name, value in self.headers.items():
            for one in value if isinstance(value, list) else [value]:
                headers.add(name, str(one))
        if self.body is not None and "json" in self.body and "content-type" not in headers:
            headers["Content-Type"] = "application/json"
        return headers


@dataclass(slots=True)
class RecordedExchange:
    request: RecordedRequest
    response: RecordedResponse

    def describe(self) -> str:
        return describe(self.request.method, self.request.url, self.request.query)


@dataclass(slots=True)
class Fixture:
    """One recorded run: what went in, what came out, and every HTTP exchange in between."""

    script: str
    kind: str
    recorded_at: datetime
    connection: dict[str, Any] | None = None
    input: Any = None
    output: Any = None
    status: str = "succeeded"
    error: dict[str, Any] | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: a sync's deleted record ids by model, and the checkpoint it left
    deleted: dict[str, list[str]] = field(default_factory=dict)
    checkpoint: dict[str, Any] | None = None
    env: dict[str, str] = field(default_factory=dict)
    exchanges: list[RecordedExchange] = field(default_factory=list)
    #: where it was read from, for error messages
    path: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "script": self.script,
            "kind": self.kind,
            "recorded_at": self.recorded_at.isoformat(),
            "connection": self.connection,
            "input": self.input,
            "output": self.output,
            "status": self.status,
            "error": self.error,
            "logs": self.logs,
            "records": self.records,
            "deleted": self.deleted,
            "checkpoint": self.checkpoint,
            "env": self.env,
            "exchanges": [_exchange_json(x) for x in self.exchanges],
        }

    def dumps(self) -> bytes:
        return dumps(self.to_json())


def dumps(data: dict[str, Any]) -> bytes:
    """The file's bytes: sorted keys, two-space indents, a final newline (stable across recordings)."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def load_fixture(path: str | Path) -> Fixture:
    """Read and check a fixture file; :class:`FixtureError` says what is wrong with it and what to do."""
    path = Path(path)
    if not path.is_file():
        raise FixtureError(
            f"fixture {path} does not exist",
            code="FIXTURE_INVALID",
            details={"path": str(path)},
            hint="record it: splice run SCRIPT -c CONNECTION --record PATH, or pytest --splice-record",
        )
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise _invalid(path, f"is not valid JSON ({exc})") from None
    return parse_fixture(data, path)


def parse_fixture(data: Any, path: Path | None = None) -> Fixture:
    where = path or Path("<fixture>")
    if not isinstance(data, dict):
        raise _invalid(where, "is not a JSON object")
    data = _migrate(data, where)
    try:
        fixture = Fixture(
            script=_req(data, "script", str, where),
            kind=_req(data, "kind", str, where),
            recorded_at=datetime.fromisoformat(_req(data, "recorded_at", str, where)),
            connection=data.get("connection"),
            input=data.get("input"),
            output=data.get("output"),
            status=data.get("status", "succeeded"),
            error=data.get("error"),
            logs=list(data.get("logs") or []),
            records=dict(data.get("records") or {}),
            deleted=dict(data.get("deleted") or {}),
            checkpoint=data.get("checkpoint"),
            env=dict(data.get("env") or {}),
            exchanges=[_exchange(x, i, where) for i, x in enumerate(_req(data, "exchanges", list, where))],
            path=path,
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise _invalid(where, f"has a bad value: {exc}") from None
    if fixture.recorded_at.tzinfo is None:
        raise _invalid(where, "has a recorded_at without a timezone")
    if fixture.kind not in KINDS:
        raise _invalid(where, f"has kind {fixture.kind!r}; expected one of {', '.join(KINDS)}")
    return fixture


def _migrate(data: dict[str, Any], where: Path) -> dict[str, Any]:
    version = data.get("format_version")
    if not isinstance(version, int):
        raise _invalid(where, "has no integer format_version")
    while version < FORMAT_VERSION and version in MIGRATIONS:
        data = MIGRATIONS[version](data)
        version = data["format_version"]
    if version == FORMAT_VERSION:
        return data
    newer = version > FORMAT_VERSION
    raise FixtureError(
        f"fixture {where} has format_version {version}; this splice reads format {FORMAT_VERSION}"
        + (" (it was written by a newer splice)" if newer else " and cannot migrate it"),
        code="FIXTURE_VERSION",
        details={"path": str(where), "format_version": version, "supported": FORMAT_VERSION},
        hint="upgrade splice" if newer else "re-record it: pytest --splice-record, or splice run ... --record",
    )


def _req(data: dict[str, Any], key: str, kind: type, where: Path) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise _invalid(where, f"needs {key!r} as a {kind.__name__} (got {type(value).__name__})")
    return value


def _invalid(where: Path, problem: str) -> FixtureError:
    return FixtureError(
        f"fixture {where} {problem}",
        code="FIXTURE_INVALID",
        details={"path": str(where)},
        hint="re-record it (pytest --splice-record, or splice run ... --record) or fix the file by hand",
    )


def _exchange(data: Any, index: int, where: Path) -> RecordedExchange:
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("request"), dict)
        or not isinstance(data.get("response"), dict)
    ):
        raise _invalid(where, f"exchange {index} needs a request and a response object")
    req, resp = data["request"], data["response"]
    if not isinstance(req.get("method"), str) or not isinstance(req.get("url"), str):
        raise _invalid(where, f"exchange {index}'s request needs a method and a url")
    if not isinstance(resp.get("status"), int):
        raise _invalid(where, f"exchange {index}'s response needs an integer status")
    query = [(str(k), str(v)) for k, v in req.get("query") or []]
    request = RecordedRequest(req["method"].upper(), req["url"], query, dict(req.get("headers") or {}), req.get("body"))
    response = RecordedResponse(resp["status"], dict(resp.get("headers") or {}), resp.get("body"))
    try:
        decode_body(response.body)
    except ValueError as exc:
        raise _invalid(where, f"exchange {index}'s response body {exc}") from None
    return RecordedExchange(request, response)


def _exchange_json(exchange: RecordedExchange) -> dict[str, Any]:
    req, resp = exchange.request, exchange.response
    return {
        "request": {
            "method": req.method,
            "url": req.url,
            "query": [list(pair) for pair in req.query],
            "headers": req.headers,
            "body": req.body,
        },
        "response": {"status": resp.status, "headers": resp.headers, "body": resp.body},
    }


def encode_body(content: bytes | None, content_type: str = "") -> dict[str, Any] | None:
    """A body as the fixture holds it: parsed JSON when it is JSON, else text, else base64."""
    if not content:
        return None
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json") or content[:1] in (b"{", b"["):
        try:
            return {"json": orjson.loads(content)}
        except orjson.JSONDecodeError:
            pass
    try:
        return {"text": content.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(content).decode()}


def decode_body(body: dict[str, Any] | None) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, dict) or len(body) != 1:
        raise ValueError('must be null or one of {"json": ...}, {"text": "..."}, {"base64": "..."}')
    if "json" in body:
        return orjson.dumps(body["json"])
    if isinstance(body.get("text"), str):
        return body["text"].encode()
    if isinstance(body.get("base64"), str):
        try:
            return base64.b64decode(body["base64"], validate=True)
        except binascii.Error:
            raise ValueError("holds base64 that does not decode") from None
    raise ValueError('must be null or one of {"json": ...}, {"text": "..."}, {"base64": "..."}')


def encode_headers(headers: CIMultiDict[str]) -> dict[str, Any]:
    """Lower-cased names, noisy ones dropped; a header sent several times becomes a list."""
    out: dict[str, Any] = {}
    for name, value in headers.items():
        key = name.lower()
        if key in NOISY_HEADERS:
            continue
        if key in out:
            out[key] = [*out[key], value] if isinstance(out[key], list) else [out[key], value]
        else:
            out[key] = value
    return out


def describe(method: str, url: str, query: list[tuple[str, str]] | None = None) -> str:
    """``GET https://host/path?a=1`` for messages."""
    qs = "&".join(f"{k}={v}" for k, v in query or [])
    return f"{method} {url}" + (f"?{qs}" if qs else "")
