"""Every error leaves the server as ``{"error": {"code", "message", "details", "hint"?, "request_id"}}``.

The status is the error's class's (``splice.errors``: ``http_status``, or ``run_status`` for a
run that failed): what the caller must fix is 4xx, what the third party said 502, the rest 5xx.
A traceback never reaches a response; unexpected exceptions are logged with the request id the
caller also gets. The hint is the error's REST wording (``hint_for("rest")``): a REST caller
is told which body field to send, not which CLI flag.

A request FastAPI refuses speaks splice's own shape: ``details.errors`` is a list of
``{"field", "message"}``, as splice's validation of inputs and config has it. Three ways a
JSON body goes wrong get their own answer: sent as something else than JSON (415
``UNSUPPORTED_MEDIA_TYPE``, naming the ``Content-Type`` header), not parsing (400
``INVALID_JSON``, with the line and column in words), and holding a key its model does not
declare (422 naming the key and the accepted ones, :mod:`splice.server._bodies`).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from splice import errors
from splice.server._bodies import UNKNOWN_KEY

logger = logging.getLogger("splice.server")

#: codes for Starlette's own HTTP errors (an unknown path, a method the route does not take)
_HTTP_CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
               413: "PAYLOAD_TOO_LARGE"}  # fmt: skip
#: how to send a JSON body, for the 415 of one sent otherwise
_SEND_JSON = "send the header `Content-Type: application/json` with it (curl: -H 'Content-Type: application/json')"


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(default={}, description='`errors`, when present: a list of `{"field", "message"}`')
    hint: str | None = None
    request_id: str | None = None
    run_id: str | None = Field(default=None, description="the run that failed, when one did")


class ErrorBody(BaseModel):
    """What every failed request answers."""

    error: ErrorDetail


#: for ``responses=`` on routes, so the OpenAPI document describes the error shape
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in ((400, "Bad request"), (401, "Missing or invalid access token"), (404, "Not found"),
                         (403, "Read-only token"), (409, "Conflict"), (413, "Request body over [server] max_body_kb"),
                         (422, "Invalid input"), (503, "The database or a lock did not answer in time; try again"))
}  # fmt: skip


def error_response(request: Request, exc: errors.SpliceError, status: int | None = None, **extra: Any) -> JSONResponse:
    """The envelope for ``exc``, with its class's ``http_status`` unless ``status`` says otherwise."""
    status = status or exc.http_status
    body: dict[str, Any] = {"code": exc.code, "message": exc.message, "details": exc.details,
                            "hint": exc.hint_for("rest")}  # fmt: skip
    body.update(extra)
    body = {k: v for k, v in body.items() if v is not None}
    body["request_id"] = getattr(request.state, "request_id", None)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": body}, status_code=status, headers=headers)


async def _splice_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.SpliceError)
    return error_response(request, exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(request, refusal(exc, request.headers.get("content-type")))


def refusal(exc: RequestValidationError, content_type: str | None) -> errors.InvalidInput:
    """The error for a request FastAPI could not turn into the route's parameters."""
    if isinstance(exc.body, bytes | bytearray) and exc.body:  # FastAPI parses JSON only when it is said to be JSON
        return _not_json(content_type)
    found = exc.errors()
    if len(found) == 1 and found[0].get("type") == "json_invalid":
        return _unparsable(found[0], exc.body)
    items = [_item(error) for error in found] or [{"field": "body", "message": "invalid"}]
    first = items[0]
    more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
    return errors.InvalidInput(f"{first['field']}: {first['message']}{more}", details={"errors": items})


def _item(error: Any) -> dict[str, str]:
    """``{"field", "message"}``: the dotted path below the body or parameter, as splice's own validation has it."""
    path = [str(part) for part in error.get("loc", ()) if part != "body"]
    keys = (error.get("ctx") or {}).get("keys") if error.get("type") == UNKNOWN_KEY else None
    if keys and len(keys) == 1:
        path.append(str(keys[0]))
    return {"field": ".".join(path) or "body", "message": str(error.get("msg", ""))}


def _not_json(content_type: str | None) -> errors.UnsupportedMediaType:
    sent = f"`Content-Type: {content_type}`" if content_type else "no `Content-Type` header"
    return errors.UnsupportedMediaType(
        f"the body was sent with {sent}, but this endpoint reads JSON",
        details={"errors": [{"field": "Content-Type", "message": "must be application/json"}],
                 "content_type": content_type},
        hint=_SEND_JSON,
    )  # fmt: skip


def _unparsable(error: Any, document: Any) -> errors.InvalidJson:
    """INVALID_JSON with where and why in words: ``line 1, column 15: expecting ',' delimiter``."""
    loc = error.get("loc") or ()
    position = loc[-1] if loc and isinstance(loc[-1], int) else 0
    text = document if isinstance(document, str) else ""
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    reason = str((error.get("ctx") or {}).get("error") or "not JSON")
    where = f"line {line}, column {column}: {reason[:1].lower()}{reason[1:]}"
    return errors.InvalidJson(
        f"the body is not valid JSON: {where}",
        details={"errors": [{"field": "body", "message": where}], "line": line, "column": column},
    )


def http_error_response(request: Request, exc: HTTPException) -> JSONResponse:
    """The envelope for an ``HTTPException``; ``details`` and ``hint`` attributes are passed on when set."""
    code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    error = errors.SpliceError(str(exc.detail), code=code, details=getattr(exc, "details", None),
                               hint=getattr(exc, "hint", None))  # fmt: skip
    return error_response(request, error, exc.status_code)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return http_error_response(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("request %s failed", getattr(request.state, "request_id", "-"))
    return error_response(request, errors.InternalError("the server failed; the request id is in its log"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.SpliceError, _splice_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
