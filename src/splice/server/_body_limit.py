"""One limit on request bodies (``[server] max_body_kb``): 413 ``PAYLOAD_TOO_LARGE`` before a body is parsed.

A body whose ``Content-Length`` is over the limit is refused before a byte of it is read. A
chunked body is counted as it arrives and refused once it passes the limit, which is still
before parsing: FastAPI reads the whole body before any route code runs, and lets an
``HTTPException`` raised while reading through (any other exception would become a 400).

Webhooks keep their own limit, ``[runtime] max_webhook_body_kb``, which their route checks the
same way; they pass through here untouched, at the cost of one string comparison. A deploy's
archive (``POST /deploys``) is held to ``[server] max_deploy_mb`` here instead (``own``).

A pure ASGI middleware, like :mod:`splice.server._request_id`.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from splice.server._errors import http_error_response


class BodyTooLarge(HTTPException):
    """A request body over the limit; ``details`` and ``hint`` go into the error envelope."""

    def __init__(self, limit: int, setting: str = "[server] max_body_kb") -> None:
        super().__init__(413, f"the request body is over the limit of {limit:,} bytes")
        self.details = {"limit_bytes": limit}
        self.hint = f"send less; the server's limit is {setting} in splice.toml"


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` on every path not starting with one of ``exempt``."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        exempt: tuple[str, ...] = ("/webhooks/",),
        own: Mapping[str, tuple[int, str]] | None = None,
    ) -> None:
        """``own``: exact paths with their own limit, and the setting that names it."""
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt
        self.own = dict(own or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        limit, setting = self.own.get(scope["path"], (self.max_bytes, "[server] max_body_kb"))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = http_error_response(Request(scope), BodyTooLarge(limit, setting))
            await response(scope, receive, send)
            return
        # a declared length is held to by the HTTP server; only a chunked body needs counting
        await self.app(scope, receive if declared is not None else _counting(receive, limit, setting), send)


def _counting(receive: Receive, limit: int, setting: str) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit, setting)
        return message

    return counted


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
