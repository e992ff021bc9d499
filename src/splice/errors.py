"""Every error splice raises, in one tree with stable ``code`` strings.

Branches are grouped by what the caller should do about them::

    SpliceError                      SPLICE_ERROR, WEBHOOK_SECRET_MISSING, SANDBOX_UNAVAILABLE: the server
    │                                is misconfigured (or its host refuses a protection strict mode needs)
    ├── UsageError                   fix the input and try again
    │   ├── ProjectError             PROJECT_INVALID, IMPORT_FAILED
    │   ├── NotFound                 NOT_FOUND
    │   ├── AlreadyExists            ALREADY_EXISTS
    │   ├── Conflict                 SYNC_RUNNING: the thing is busy; wait, or pause it first
    │   ├── Unauthorized             UNAUTHORIZED, INVALID_SIGNATURE: prove who you are (a webhook's signature)
    │   └── InvalidInput             INVALID_INPUT, INVALID_CREDENTIALS, INVALID_CONFIG, INVALID_SCHEDULE,
    │                                INVALID_RECORD, MIXED_ID_TYPES, INVALID_CURSOR, INVALID_CHECKPOINT,
    │                                INVALID_JSON, PAYLOAD_TOO_LARGE, ROUTING_VALUE_MISSING, CONNECTION_NOT_ALLOWED,
    │                                INPUT_TOO_LARGE, STATE_TOO_LARGE
    ├── ApiError                     the third-party API said no (status, headers, body)
    │   ├── AccessTokenExpired       ACCESS_TOKEN_EXPIRED
    │   ├── RateLimitExceeded        RATE_LIMIT_EXCEEDED
    │   ├── ConnectionError          CONNECTION_ERROR, HOST_NOT_ALLOWED, NETWORK_ERROR
    │   └── PaginationError          PAGINATION_ERROR
    ├── CredentialsError             the connection needs attention: REFRESH_FAILED, CONNECTION_BROKEN
    ├── ActionError                  ACTION_ERROR: a script's structured answer to its caller
    └── RunError                     the run itself failed
        ├── ScriptError              SCRIPT_ERROR, INVALID_OUTPUT
        ├── LimitExceeded            TIME_LIMIT_EXCEEDED, MEMORY_LIMIT_EXCEEDED, CHILD_CRASHED, OUTPUT_TOO_LARGE,
        │                            PROCESS_LIMIT_EXCEEDED, FILE_SIZE_LIMIT_EXCEEDED
        ├── SandboxViolation         SANDBOX_DENIED: the script tried what its sandbox forbids
        └── (RunError itself)        WORKER_LOST: the worker running it died; the job retries

Errors cross the process boundary between a run's child and its parent as plain
dicts (:meth:`SpliceError.to_dict` / :func:`error_from_dict`), so every class must be
rebuildable from ``code``, ``message`` and ``details`` alone.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AccessTokenExpired",
    "ActionError",
    "AlreadyExists",
    "ApiError",
    "Conflict",
    "ConnectionError",
    "CredentialsError",
    "InvalidInput",
    "LimitExceeded",
    "NotFound",
    "PaginationError",
    "ProjectError",
    "RateLimitExceeded",
    "RunError",
    "SandboxViolation",
    "ScriptError",
    "SpliceError",
    "Unauthorized",
    "UsageError",
    "error_from_dict",
]


class SpliceError(Exception):
    """Root of every splice error; ``code`` is stable, ``message`` is for people."""

    default_code: ClassVar[str] = "SPLICE_ERROR"
    hint: str | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details: dict[str, Any] = details or {}
        if hint is not None:
            self.hint = hint

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe form used in run results, the REST envelope and child messages."""
        data: dict[str, Any] = {"code": self.code, "message": self.message, "details": self.details}
        if self.hint:
            data["hint"] = self.hint
        data["type"] = type(self).__name__
        return data

    def __str__(self) -> str:
        return self.message


class UsageError(SpliceError):
    default_code = "USAGE_ERROR"


class ProjectError(UsageError):
    default_code = "PROJECT_INVALID"


class NotFound(UsageError):
    default_code = "NOT_FOUND"


class AlreadyExists(UsageError):
    default_code = "ALREADY_EXISTS"


class Conflict(UsageError):
    """The request is fine but clashes with what is happening now (a sync already running)."""

    default_code = "CONFLICT"


class Unauthorized(UsageError):
    """The caller did not prove who it is: no or a bad token, a webhook signature that does not match."""

    default_code = "UNAUTHORIZED"


class InvalidInput(UsageError):
    default_code = "INVALID_INPUT"


class ApiError(SpliceError):
    """A third-party API call failed; ``details`` holds ``status``, ``headers`` and ``data``."""

    default_code = "API_ERROR"

    @property
    def status(self) -> int | None:
        return self.details.get("status")

    @property
    def data(self) -> Any:
        return self.details.get("data")

    @property
    def headers(self) -> dict[str, str]:
        return self.details.get("headers") or {}


class AccessTokenExpired(ApiError):
    default_code = "ACCESS_TOKEN_EXPIRED"


class RateLimitExceeded(ApiError):
    default_code = "RATE_LIMIT_EXCEEDED"


class ConnectionError(ApiError):
    default_code = "CONNECTION_ERROR"


class PaginationError(ApiError):
    default_code = "PAGINATION_ERROR"


class CredentialsError(SpliceError):
    """The connection's credentials cannot be used until someone fixes or reconnects them."""

    default_code = "REFRESH_FAILED"


class ActionError(SpliceError):
    """Raised by a script to hand its caller a structured error payload.

    >>> raise ActionError({"reason": "duplicate email"}, status=409)
    """

    default_code = "ACTION_ERROR"

    def __init__(
        self,
        payload: Any = None,
        status: int = 400,
        *,
        message: str | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        hint: str | None = None,
    ) -> None:
        details = dict(details or {})
        details.setdefault("payload", payload)
        details.setdefault("status", status)
        super().__init__(message or f"action error: {payload!r}", code=code, details=details)
        self.payload = details["payload"]
        self.status = details["status"]


class RunError(SpliceError):
    default_code = "RUN_ERROR"


class ScriptError(RunError):
    """The script raised; ``details`` has ``type``, ``message`` and ``traceback``."""

    default_code = "SCRIPT_ERROR"


class LimitExceeded(RunError):
    default_code = "TIME_LIMIT_EXCEEDED"


class SandboxViolation(RunError):
    """The script tried something its sandbox forbids: a socket, a file outside its view, a signal."""

    default_code = "SANDBOX_DENIED"


_BY_NAME: dict[str, type[SpliceError]] = {
    cls.__name__: cls
    for cls in (
        SpliceError,
        UsageError,
        ProjectError,
        NotFound,
        AlreadyExists,
        Conflict,
        Unauthorized,
        InvalidInput,
        ApiError,
        AccessTokenExpired,
        RateLimitExceeded,
        ConnectionError,
        PaginationError,
        CredentialsError,
        ActionError,
        RunError,
        ScriptError,
        LimitExceeded,
        SandboxViolation,
    )
}


def error_from_dict(data: dict[str, Any]) -> SpliceError:
    """Rebuild an error sent as :meth:`SpliceError.to_dict` (unknown types become SpliceError)."""
    cls = _BY_NAME.get(str(data.get("type")), SpliceError)
    kwargs: dict[str, Any] = {"code": data.get("code"), "details": data.get("details") or {}}
    if data.get("hint"):
        kwargs["hint"] = data["hint"]
    if cls is ActionError:
        return ActionError(message=data.get("message"), **kwargs)
    return cls(str(data.get("message", "")), **kwargs)
