"""What a trigger answers its caller: the script's :class:`Response` and the rendered :class:`WebhookResponse`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from pydantic import BaseModel

from splice.errors import ActionError, ScriptError, error_from_dict
from splice.triggers._request import body_from_json, body_to_json

JSON = "application/json"
#: what a trigger that returns None answers
ACK = b'{"ok":true}'
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
#: the server sets these from the body it sends; a script's own values would contradict it
_DROPPED = frozenset({"content-length", "transfer-encoding", "connection"})
#: run errors whose message is written for the webhook's caller; others get a generic one
_SHOWN = frozenset({"INVALID_JSON", "TIME_LIMIT_EXCEEDED"})


@dataclass(frozen=True, slots=True)
class Response:
    """Return this from a trigger to choose the status, headers, content type and body.

    ``body`` may be bytes, str (sent as UTF-8 text) or anything JSON-serialisable (sent as
    JSON); ``content_type`` overrides the type that follows from it.

    >>> return Response(status=202, body="queued")
    >>> return Response(body=xml_bytes, content_type="application/xml", headers={"X-Request": rid})
    """

    body: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.status, int) or isinstance(self.status, bool) or not 200 <= self.status <= 599:
            raise _invalid(f"Response status must be a whole number from 200 to 599, not {self.status!r}")
        if not isinstance(self.headers, Mapping):
            raise _invalid(f"Response headers must be a dict of str to str, not {type(self.headers).__name__}")
        for name, value in self.headers.items():
            if not isinstance(name, str) or not _TOKEN.match(name):
                raise _invalid(f"Response header name {name!r} is not a valid HTTP header name")
            if not isinstance(value, str) or "\r" in value or "\n" in value:
                raise _invalid(f"Response header {name}: the value must be a str without line breaks")
        if self.content_type is not None and (not isinstance(self.content_type, str) or "\n" in self.content_type):
            raise _invalid(f"Response content_type must be a str, not {self.content_type!r}")

    def render(self) -> WebhookResponse:
        """The bytes and headers to send."""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in (*_DROPPED, "content-type")}
        given = next((v for k, v in self.headers.items() if k.lower() == "content-type"), None)
        body, implied = _encode(self.body)
        return WebhookResponse(self.status, headers, body, self.content_type or given or implied)


@dataclass(frozen=True, slots=True)
class WebhookResponse:
    """The HTTP answer the webhook's caller gets; ``content_type`` None means no Content-Type."""

    status: int
    headers: dict[str, str]
    body: bytes
    content_type: str | None
    #: splice's error envelope for a run that failed (:meth:`for_error`), not an answer a script chose
    failed: bool = False

    @classmethod
    def from_result(cls, value: Any) -> WebhookResponse:
        """A trigger's return value: None → ``200 {"ok": true}``, dict/list/model → 200 JSON, a Response,
        or Prismatic's ``{"payload": ..., "response": {...}}`` (the response part; see :func:`payload_of`)."""
        if value is None:
            return cls(200, {}, ACK, JSON)
        if is_payload_shape(value):
            return _prismatic(value.get("response"))
        if isinstance(value, Response):
            return value.render()
        if isinstance(value, dict | list | BaseModel):
            return Response(value).render()
        raise _invalid(
            f"a trigger returns None, a dict, a list or splice.triggers.Response, not {type(value).__name__}",
            hint="wrap other bodies: return Response(body=..., content_type=...)",
        )

    @classmethod
    def for_error(cls, error: Mapping[str, Any], run_id: str) -> WebhookResponse:
        """The answer for a run that failed: ``{"error": {code, message, details, run_id}}``, no traceback
        (a server adds the request id with :meth:`with_request_id`).

        The status is the error's ``run_status``, as for ``POST /actions``: a time-out 504, an
        ``ActionError`` its own status (and its payload), a body the script could not parse 400,
        the third party failing 502; a crash 500. The message points at the run unless it was
        written for the webhook's caller (an exception's text is for the operator).
        """
        failed = error_from_dict({**error, "code": error.get("code") or "SCRIPT_ERROR"})
        details = {"payload": failed.payload} if isinstance(failed, ActionError) else {}
        shown = failed.code in _SHOWN
        message = failed.message if shown else f"the trigger failed; run {run_id} has the details"
        body = {"error": {"code": failed.code, "message": message, "details": details, "run_id": run_id}}
        return cls(failed.run_status, {}, orjson.dumps(body), JSON, failed=True)

    def with_request_id(self, request_id: str) -> WebhookResponse:
        """An error envelope of :meth:`for_error` with ``request_id``, as every other error of the server has;
        any other answer unchanged (it is the script's, byte for byte)."""
        if not self.failed:
            return self
        body = orjson.loads(self.body)
        body["error"]["request_id"] = request_id
        return replace(self, body=orjson.dumps(body))

    def to_json(self) -> dict[str, Any]:
        """The run's stored output (and how it leaves a run's child process)."""
        return {"status": self.status, "headers": self.headers, "content_type": self.content_type,
                **body_to_json(self.body)}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WebhookResponse:
        headers = data.get("headers") or {}
        return cls(int(data.get("status") or 200), {str(k): str(v) for k, v in headers.items()},
                   body_from_json(data), data.get("content_type"))  # fmt: skip


def is_payload_shape(value: Any) -> bool:
    """Prismatic's code-block trigger result: ``{"payload": ...}`` with, optionally, ``"response"``."""
    return isinstance(value, dict) and "payload" in value and set(value) <= {"payload", "response"}


def _prismatic(response: Any) -> WebhookResponse:
    """``{"status" | "statusCode", "headers", "body", "contentType" | "content_type"}``; none → 200 ack."""
    if response is None:
        return WebhookResponse(200, {}, ACK, JSON)
    if isinstance(response, Response):
        return response.render()
    if not isinstance(response, Mapping):
        raise _invalid(f"a trigger's response must be an object, not {type(response).__name__}")
    known = {"status", "statusCode", "headers", "body", "contentType", "content_type"}
    unknown = sorted(set(response) - known)
    if unknown:
        raise _invalid(f"a trigger's response has an unknown key {unknown[0]!r} (it takes {', '.join(sorted(known))})")
    status = response.get("status", response.get("statusCode", 200))
    content_type = response.get("content_type", response.get("contentType"))
    return Response(response.get("body"), status, response.get("headers") or {}, content_type).render()


def _encode(body: Any) -> tuple[bytes, str | None]:
    if body is None:
        return b"", None
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body), "application/octet-stream"
    if isinstance(body, str):
        return body.encode("utf-8"), "text/plain; charset=utf-8"
    if isinstance(body, BaseModel):
        return body.model_dump_json().encode("utf-8"), JSON
    try:
        return orjson.dumps(body), JSON
    except TypeError as exc:
        raise _invalid(f"the trigger's response body is not JSON-serialisable: {exc}") from None


def _invalid(message: str, hint: str | None = None) -> ScriptError:
    return ScriptError(message, code="INVALID_OUTPUT", hint=hint)
