"""Every error leaves the server as ``{"error": {"code", "message", "details"}}`` with a fitting status.

The status is the error's class's (``splice.errors``: ``http_status``, or ``run_status`` for a
run that failed): what the caller must fix is 4xx, what the third party said 502, the rest 5xx.
A traceback never reaches a response; unexpected exceptions are logged with the request id the
caller also gets.
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

#: codes for Starlette's own HTTP errors (an unknown path, a method the route does not take)
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
                         (422, "Invalid input"), (503, "The database or a lock did not answer in time; try again"))
}  # fmt: skip


def error_response(request: Request, exc: errors.SpliceError, status: int | None = None, **extra: Any) -> JSONResponse:
    """The envelope for ``exc``, with its class's ``http_status`` unless ``status`` says otherwise."""
    status = status or exc.http_status
    body: dict[str, Any] = {"code": exc.code, "message": exc.message, "details": exc.details, "hint": exc.hint}
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
    problems = [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body", "problem": e.get("msg", "")}
        for e in exc.errors()
    ]
    first = problems[0] if problems else {"field": "body", "problem": "invalid"}
    message = f"{first['field']}: {first['problem']}" + (
        f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    )
    return error_response(request, errors.InvalidInput(message, details={"errors": problems}))


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
