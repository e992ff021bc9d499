"""Every error leaves the server as ``{"error": {"code", "message", "details"}}`` with a fitting status.

The status follows the error tree (``splice.errors``): what the caller must fix is 4xx, what
the third party said is 502, the rest 500. A traceback never reaches a response; unexpected
exceptions are logged with the request id the caller also gets.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from splice import errors

logger = logging.getLogger("splice.server")

#: most specific class first
STATUS: tuple[tuple[type[errors.SpliceError], int], ...] = (
    (errors.NotFound, 404),
    (errors.AlreadyExists, 409),
    (errors.Conflict, 409),
    (errors.InvalidInput, 422),
    (errors.UsageError, 400),
    (errors.ApiError, 502),
    (errors.CredentialsError, 409),
    (errors.ActionError, 400),
)
_HTTP_CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
               413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}  # fmt: skip


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}
    hint: str | None = None
    request_id: str | None = None


class ErrorBody(BaseModel):
    """What every failed request answers."""

    error: ErrorDetail


#: for ``responses=`` on routes, so the OpenAPI document describes the error shape
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in ((400, "Bad request"), (401, "Missing or invalid access token"), (404, "Not found"),
                         (403, "Read-only token"), (409, "Conflict"), (413, "Request body over [server] max_body_kb"),
                         (422, "Invalid input"))
}  # fmt: skip


#: codes whose status is not their class's
BY_CODE = {"UNAUTHORIZED": 401, "INVALID_SIGNATURE": 401, "FORBIDDEN": 403, "PAYLOAD_TOO_LARGE": 413}


def status_for(exc: errors.SpliceError) -> int:
    if exc.code in BY_CODE:
        return BY_CODE[exc.code]
    if isinstance(exc, errors.ActionError):
        return int(getattr(exc, "status", 400) or 400)
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def error_response(
    request: Request, status: int, code: str, message: str, details: dict[str, Any] | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, "details": details or {}}
    body.update({k: v for k, v in extra.items() if v is not None})
    body["request_id"] = getattr(request.state, "request_id", None)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": body}, status_code=status, headers=headers)


async def _splice_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.SpliceError)
    data = exc.to_dict()
    return error_response(request, status_for(exc), exc.code, exc.message, data.get("details"), hint=exc.hint)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body", "problem": e.get("msg", "")}
        for e in exc.errors()
    ]
    first = problems[0] if problems else {"field": "body", "problem": "invalid"}
    message = f"{first['field']}: {first['problem']}" + (
        f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    )
    return error_response(request, 422, "INVALID_INPUT", message, {"errors": problems})


def http_error_response(request: Request, exc: HTTPException) -> JSONResponse:
    """The envelope for an ``HTTPException``; ``details`` and ``hint`` attributes are passed on when set."""
    code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    details = getattr(exc, "details", None)
    return error_response(request, exc.status_code, code, str(exc.detail), details, hint=getattr(exc, "hint", None))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return http_error_response(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("request %s failed", getattr(request.state, "request_id", "-"))
    return error_response(request, 500, "INTERNAL_ERROR", "the server failed; the request id is in its log")


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.SpliceError, _splice_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
