"""Every error splice raises, in one tree with stable ``code`` strings.

Branches are grouped by what the caller should do about them, and each class says it once:
``http_status`` when the error answers a request; ``run_status`` when a caller waited on a run
that failed with it (``POST /actions``, a webhook); ``retryable``, whether the engine retries a
job attempt that failed with it; and ``codes``, the codes it carries (the first is its default).
Every code belongs to exactly one class, and ``tests/test_errors.py`` holds this drawing to the
classes and to every code raised in ``src/``::

    class                          HTTP  run  engine  codes: what the caller should do
    SpliceError                    500   500  retry   SPLICE_ERROR, WEBHOOK_SECRET_MISSING, SANDBOX_UNAVAILABLE,
    │                                                 MIGRATION_FAILED, DECRYPT_FAILED, SERVER_ERROR, CANNOT_LISTEN:
    │                                                 splice's setup is wrong (a secret, the sandbox, the database,
    │                                                 a key, --server, a port in use); the operator fixes what the
    │                                                 message names
    ├── UsageError                 400   500  final   USAGE_ERROR, INVALID_STATE, INVALID_SESSION, OAUTH_PROVIDER_ERROR:
    │   │                                             fix the request and send it again (a used, expired or refused
    │   │                                             connect link or OAuth state: start connecting again)
    │   ├── ProjectError           400   500  final   PROJECT_INVALID, IMPORT_FAILED: fix the project's code or
    │   │                                             splice.toml
    │   ├── NotFound               404   500  final   NOT_FOUND: check the name or id
    │   ├── AlreadyExists          409   500  final   ALREADY_EXISTS: pick another id, or change the existing one
    │   ├── Conflict               409   500  final   CONFLICT, SYNC_RUNNING, NOT_FAILED, READ_ONLY: the thing is
    │   │                                             busy, in another state, or declared in code; wait, pause it
    │   │                                             first, or change it where it is declared
    │   ├── Unauthorized           401   500  final   UNAUTHORIZED, INVALID_SIGNATURE, WEBHOOK_REPLAYED: prove who
    │   │                                             you are (a valid token; a webhook signed anew: a signed
    │   │                                             delivery is accepted once)
    │   ├── Forbidden              403   500  final   FORBIDDEN, ENGINE_NOT_ALLOWED: use a token that may do this
    │   │   │                                         (not read-only, not limited to some tenants); a script reaching
    │   │   │                                         another integration's resources through ctx.engine: grant it
    │   │   │                                         in splice.toml's [engine] grants
    │   │   └── DeployNotAllowed   403   500  final   DEPLOY_NOT_ALLOWED: deploy (or roll back) with a token made
    │   │                                             for it (splice tokens create NAME --deploy)
    │   ├── CapabilityNotGranted   400   500  final   CAPABILITY_NOT_GRANTED: the script used a ctx capability its
    │   │                                             kind does not have; fix the script
    │   ├── FixtureError           400   500  final   FIXTURE_INVALID, FIXTURE_VERSION, FIXTURE_MISMATCH,
    │   │                                             FIXTURE_UNUSED, FIXTURE_SECRET: a splice.testing fixture is
    │   │                                             missing, malformed, of another script or format version, does
    │   │                                             not hold a request the script made (or holds one it never
    │   │                                             made), or holds a secret; re-record it (--record,
    │   │                                             --splice-record) or fix what the message names
    │   └── InvalidInput           422   500  final   INVALID_INPUT, INVALID_CREDENTIALS, INVALID_CONFIG,
    │       │                                         INVALID_SCHEDULE, INVALID_RECORD, MIXED_ID_TYPES, INVALID_CURSOR,
    │       │                                         INVALID_CHECKPOINT, ROUTING_VALUE_MISSING, CONNECTION_NOT_ALLOWED,
    │       │                                         CONNECT_NOT_SUPPORTED, INVALID_SECRET_KEY, INSECURE_KEY_FILE,
    │       │                                         INPUT_TOO_LARGE, STATE_TOO_LARGE, INVALID_FLOW,
    │       │                                         INVALID_EXPRESSION, EXPRESSION_FAILED, FLOW_CYCLE,
    │       │                                         STEP_RESULT_TOO_LARGE, AMBIGUOUS_ID, INVALID_RESOURCE,
    │       │                                         LOOKUP_PUT_TOO_LARGE, LOOKUP_CACHE_FULL, RECORDS_FAILED,
    │       │                                         INVALID_ARCHIVE:
    │       │                                         fix the value the message names (a short run id: give
    │       │                                         more of it; an export's or import's field; a lookup put:
    │       │                                         send smaller batches, or make room in the cache; failed
    │       │                                         records: fix and retry them, splice runs retry-errors;
    │       │                                         a deploy's archive: deploy with `splice deploy`)
    │       ├── PayloadTooLarge    413   500  final   PAYLOAD_TOO_LARGE: send less, or raise the limit the hint names
    │       ├── InvalidJson        400   400  final   INVALID_JSON: send a JSON body (a webhook's body is the
    │       │                                         caller's, so a run that cannot parse it answers 400 too)
    │       ├── UnsupportedMediaType 415 500  final   UNSUPPORTED_MEDIA_TYPE: send the body as JSON, with
    │       │                                         `Content-Type: application/json`
    │       └── FileInvalid        422   500  final   FILE_INVALID: the file does not fit its file definition; fix
    │                                                 the line, column or segment ``details`` names (or the
    │                                                 record and field when generating one)
    ├── ApiError                   502   502  retry   API_ERROR, TOKEN_EXCHANGE_FAILED: the third-party API failed
    │   │                                             or said no (.status, .headers, .data); try later or fix the call
    │   ├── AccessTokenExpired     502   502  retry   ACCESS_TOKEN_EXPIRED: refused even after a refresh; check the
    │   │                                             connection's credentials and scopes
    │   ├── RateLimitExceeded      502   502  retry   RATE_LIMIT_EXCEEDED: slow down; try after the wait it asked for
    │   ├── ConnectionError        502   502  retry   CONNECTION_ERROR, HOST_NOT_ALLOWED, NETWORK_ERROR: the call
    │   │                                             failed (a status, the network, a host not in allowed_hosts)
    │   ├── PaginationError        502   502  retry   PAGINATION_ERROR, PAGING_LOOP: the API's pages do not line up
    │   │                                             (a cursor, next URL or body repeated, or more pages than an
    │   │                                             export's max_pages); check the paginator or the paging
    │   └── AsyncJobError          502   502  final   ASYNC_JOB_FAILED, ASYNC_STATUS_UNKNOWN, ASYNC_TIME_LIMIT: an
    │                                                 async helper's job failed, answered a status none of its
    │                                                 values name, or ran past its time_limit; see the job on the
    │                                                 API, fix the helper's values or limit, and run again
    ├── CredentialsError           409   409  retry   REFRESH_FAILED: the provider failed a refresh; a later attempt
    │   │                                             may work (a refusal also marks the connection broken)
    │   └── ConnectionBroken       409   409  final   CONNECTION_BROKEN, CREDENTIALS_REJECTED: the connection needs
    │                                                 new credentials; replace them (a refused refresh marked it
    │                                                 broken; an API that refused a key or password that cannot be
    │                                                 refreshed answered with .status, .data)
    ├── ActionError                400   own  retry   ACTION_ERROR: a script's structured answer; read .payload (the
    │                                                 script chooses the run's status, 400–599)
    ├── RunError                   500   500  retry   RUN_ERROR, CHILD_CRASHED: the run's process died; look at the
    │   │                                             run (a job tries again)
    │   ├── ScriptError            500   500  retry   SCRIPT_ERROR, INVALID_OUTPUT, HOOK_CONTRACT: the script (or an
    │   │                                             export's or import's hook) raised or returned something
    │   │                                             invalid; fix it (the traceback is on the run)
    │   ├── LimitExceeded          500   500  final   LIMIT_EXCEEDED, MEMORY_LIMIT_EXCEEDED, OUTPUT_TOO_LARGE,
    │   │   │                                         PROCESS_LIMIT_EXCEEDED, FILE_SIZE_LIMIT_EXCEEDED: the run
    │   │   │                                         passed a limit; raise it or do less
    │   │   └── TimeLimitExceeded  504   504  final   TIME_LIMIT_EXCEEDED: the run was stopped at its time limit;
    │   │                                             raise time_limit or do less per run
    │   ├── SandboxViolation       500   500  retry   SANDBOX_DENIED: the script tried what its sandbox forbids;
    │   │                                             call services through ctx.api
    │   ├── WorkerLost             500   500  retry   WORKER_LOST: the process running it died; a job tries again,
    │   │                                             run anything else again
    │   └── Cancelled              500   500  final   CANCELLED: its caller gave up on it; start it again if still
    │                                                 wanted
    ├── Unavailable                503   503  retry   DATABASE_UNAVAILABLE, LOCK_TIMEOUT, SERVER_UNREACHABLE,
    │                                                 SERVER_TIMEOUT: something splice needs did not answer in
    │                                                 time (its database, a lock, the splice server); try later
    └── InternalError              500   500  retry   INTERNAL_ERROR, ZYGOTE_GONE, PARENT_GONE: a failure inside
                                                      splice, a bug; its log has the traceback under the run or
                                                      request id

A usage error inside a run is the script's bug, not its caller's (input is checked before a
run exists), so a failed run answers 500 for the whole branch but a body that is not JSON.

A ``hint`` says what to do next, worded for the CLI and Python callers. Where the REST API
needs other words (a body field rather than a ``--flag``), the error carries them in
``hints={"rest": ...}``; each surface asks :meth:`SpliceError.hint_for` for its own.

Errors cross the process boundary between a run's child and its parent as plain dicts
(:meth:`SpliceError.to_dict` / :func:`error_from_dict`), and are stored on runs that way, so
every class must be rebuildable from ``code``, ``message`` and ``details`` alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

__all__ = [
    "CODES",
    "AccessTokenExpired",
    "ActionError",
    "AlreadyExists",
    "ApiError",
    "AsyncJobError",
    "Cancelled",
    "CapabilityNotGranted",
    "Conflict",
    "ConnectionBroken",
    "ConnectionError",
    "CredentialsError",
    "DeployNotAllowed",
    "FileInvalid",
    "FixtureError",
    "Forbidden",
    "InternalError",
    "InvalidInput",
    "InvalidJson",
    "LimitExceeded",
    "NotFound",
    "PaginationError",
    "PayloadTooLarge",
    "ProjectError",
    "RateLimitExceeded",
    "RunError",
    "SandboxViolation",
    "ScriptError",
    "SpliceError",
    "TimeLimitExceeded",
    "Unauthorized",
    "Unavailable",
    "UnsupportedMediaType",
    "UsageError",
    "WorkerLost",
    "error_from_dict",
]


class SpliceError(Exception):
    """Root of every splice error; ``code`` is stable, ``message`` is for people.

    Raised as itself, it says splice's setup is wrong (a webhook secret that is not set, a
    sandbox the host refuses, a database schema or secret key that does not fit): the
    operator fixes what the message names, so the engine tries again later.
    """

    codes: ClassVar[tuple[str, ...]] = (
        "SPLICE_ERROR",
        "WEBHOOK_SECRET_MISSING",
        "SANDBOX_UNAVAILABLE",
        "MIGRATION_FAILED",
        "DECRYPT_FAILED",
        "SERVER_ERROR",
        "CANNOT_LISTEN",
    )
    #: the first of ``codes``: what ``code`` is when none is given
    default_code: ClassVar[str] = "SPLICE_ERROR"
    #: the status when this error answers a request
    http_status: ClassVar[int] = 500
    #: whether a job attempt that failed with this error is worth another attempt
    retryable: ClassVar[bool] = True
    hint: str | None = None
    #: the hint in other words for a surface where ``hint``'s would mislead, e.g. ``{"rest": ...}``
    hints: Mapping[str, str] = MappingProxyType({})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.default_code = cls.codes[0]

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        hint: str | None = None,
        hints: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details: dict[str, Any] = details or {}
        if hint is not None:
            self.hint = hint
        if hints:
            self.hints = dict(hints)

    def hint_for(self, surface: str) -> str | None:
        """The hint worded for ``surface`` (``"rest"``), else the CLI's and Python's ``hint``.

        >>> InvalidInput("x", hint="pass --connection ID", hints={"rest": "send connection_id"}).hint_for("rest")
        'send connection_id'
        """
        return self.hints.get(surface, self.hint)

    @property
    def run_status(self) -> int:
        """The status for a caller that waited on a run which failed with this error."""
        return self.http_status

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe form used in run results, the REST envelope and child messages."""
        data: dict[str, Any] = {"code": self.code, "message": self.message, "details": self.details}
        if self.hint:
            data["hint"] = self.hint
        if self.hints:
            data["hints"] = dict(self.hints)
        data["type"] = type(self).__name__
        return data

    def __str__(self) -> str:
        return self.message


class UsageError(SpliceError):
    """The request was wrong: fix it and send it again; sending it unchanged fails the same way.

    Its own codes are the OAuth connect flow's: a connect link or state that is used, expired
    or forged, or a provider that refused, means starting the connection again.
    """

    codes = ("USAGE_ERROR", "INVALID_STATE", "INVALID_SESSION", "OAUTH_PROVIDER_ERROR")
    http_status = 400
    retryable = False

    @property
    def run_status(self) -> int:
        """500: inside a run, a usage error is the script misusing ``ctx``; its caller's request was fine."""
        return 500


class ProjectError(UsageError):
    """The project does not load: fix its code or ``splice.toml``."""

    codes = ("PROJECT_INVALID", "IMPORT_FAILED")


class NotFound(UsageError):
    codes = ("NOT_FOUND",)
    http_status = 404


class AlreadyExists(UsageError):
    codes = ("ALREADY_EXISTS",)
    http_status = 409


class Conflict(UsageError):
    """The request is fine but clashes with what is happening now (a sync already running)."""

    codes = ("CONFLICT", "SYNC_RUNNING", "NOT_FAILED", "READ_ONLY")
    http_status = 409


class Unauthorized(UsageError):
    """The caller did not prove who it is: no or a bad token, a webhook signature that does not match."""

    codes = ("UNAUTHORIZED", "INVALID_SIGNATURE", "WEBHOOK_REPLAYED")
    http_status = 401


class Forbidden(UsageError):
    """The caller is known but its token may not do this (read-only, or limited to some tenants).

    ``ENGINE_NOT_ALLOWED``: a script's ``ctx.engine`` reached another integration's resource
    without a grant in ``splice.toml`` (``[engine] grants``).
    """

    codes = ("FORBIDDEN", "ENGINE_NOT_ALLOWED")
    http_status = 403


class DeployNotAllowed(Forbidden):
    """The token may not deploy: only a token created for it (``--deploy``) uploads code or rolls back.

    Deploying changes what every worker runs, so it is a permission of its own, not part of
    full access.
    """

    codes = ("DEPLOY_NOT_ALLOWED",)


class CapabilityNotGranted(UsageError, AttributeError):
    """A script used a ``ctx`` capability its kind does not have (a trigger writing records, say).

    Also an :class:`AttributeError`, so ``hasattr(ctx, "records")`` is simply False.
    """

    codes = ("CAPABILITY_NOT_GRANTED",)


class FixtureError(UsageError):
    """A recorded fixture that cannot be replayed as it is: the test fails with what to fix.

    Raised by :mod:`splice.testing` (and ``splice run --record``); ``details`` names the fixture
    file and, for a mismatch, the request and the closest recorded one.
    """

    codes = ("FIXTURE_INVALID", "FIXTURE_VERSION", "FIXTURE_MISMATCH", "FIXTURE_UNUSED", "FIXTURE_SECRET")


class InvalidInput(UsageError):
    codes = (
        "INVALID_INPUT",
        "INVALID_CREDENTIALS",
        "INVALID_CONFIG",
        "INVALID_SCHEDULE",
        "INVALID_RECORD",
        "MIXED_ID_TYPES",
        "INVALID_CURSOR",
        "INVALID_CHECKPOINT",
        "ROUTING_VALUE_MISSING",
        "CONNECTION_NOT_ALLOWED",
        "CONNECT_NOT_SUPPORTED",
        "INVALID_SECRET_KEY",
        "INSECURE_KEY_FILE",
        "INPUT_TOO_LARGE",
        "STATE_TOO_LARGE",
        "INVALID_FLOW",
        "INVALID_EXPRESSION",
        "EXPRESSION_FAILED",
        "FLOW_CYCLE",
        "STEP_RESULT_TOO_LARGE",
        "AMBIGUOUS_ID",
        "INVALID_RESOURCE",
        "LOOKUP_PUT_TOO_LARGE",
        "LOOKUP_CACHE_FULL",
        "RECORDS_FAILED",
        "INVALID_ARCHIVE",
    )
    http_status = 422


class PayloadTooLarge(InvalidInput):
    """A body over the limit, refused before anything reads it."""

    codes = ("PAYLOAD_TOO_LARGE",)
    http_status = 413


class InvalidJson(InvalidInput):
    """A webhook body that is not JSON: its sender's mistake even when the script is the one parsing it."""

    codes = ("INVALID_JSON",)
    http_status = 400

    @property
    def run_status(self) -> int:
        return self.http_status


class UnsupportedMediaType(InvalidInput):
    """A request body the API reads as JSON, sent as something else (or with no ``Content-Type``)."""

    codes = ("UNSUPPORTED_MEDIA_TYPE",)
    http_status = 415


class FileInvalid(InvalidInput):
    """A delimited, fixed-width or X12 file that does not fit its definition, or records that cannot be
    written with it.

    ``details`` says where: ``line`` and ``column`` (1-based) for delimited and fixed-width files,
    ``segment`` (its 1-based number in the interchange) and ``segment_id`` for X12, ``record`` and
    ``field`` when generating.
    """

    codes = ("FILE_INVALID",)


class ApiError(SpliceError):
    """A third-party API call failed; ``details`` holds ``status``, ``headers`` and ``data``."""

    codes = ("API_ERROR", "TOKEN_EXCHANGE_FAILED")
    http_status = 502

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
    codes = ("ACCESS_TOKEN_EXPIRED",)


class RateLimitExceeded(ApiError):
    codes = ("RATE_LIMIT_EXCEEDED",)


class ConnectionError(ApiError):
    codes = ("CONNECTION_ERROR", "HOST_NOT_ALLOWED", "NETWORK_ERROR")


class PaginationError(ApiError):
    codes = ("PAGINATION_ERROR", "PAGING_LOOP")


class AsyncJobError(ApiError):
    """An API's asynchronous job did not end well; polling it again would not change that."""

    codes = ("ASYNC_JOB_FAILED", "ASYNC_STATUS_UNKNOWN", "ASYNC_TIME_LIMIT")
    retryable = False


class CredentialsError(SpliceError):
    """Refreshing the connection's credentials failed.

    A provider 5xx is a bad moment, so a later attempt may work; a refusal also marks the
    connection, and the attempts after it fail with :class:`ConnectionBroken`.
    """

    codes = ("REFRESH_FAILED",)
    http_status = 409


class ConnectionBroken(CredentialsError):
    """The connection's credentials were refused: nothing works until someone replaces them.

    ``CONNECTION_BROKEN``: the provider refused a refresh, so the connection is marked
    ``error`` and its runs fail with this code before calling anything. ``CREDENTIALS_REJECTED``:
    the API answered 401 to credentials that cannot be refreshed (an API key, a password);
    ``details`` holds its answer (``status``, ``headers``, ``data``, secrets masked). That
    does not mark the connection: a 401 is one endpoint's answer to one call (some APIs say 401
    for a missing permission), not proof the credentials are dead.
    """

    codes = ("CONNECTION_BROKEN", "CREDENTIALS_REJECTED")
    retryable = False

    @property
    def status(self) -> int | None:
        return self.details.get("status")

    @property
    def data(self) -> Any:
        return self.details.get("data")


class ActionError(SpliceError):
    """Raised by a script to hand its caller a structured error payload.

    The script chooses the status its run answers with (400–599; anything else is 400), and
    may choose its own ``code``.

    >>> raise ActionError({"reason": "duplicate email"}, status=409)
    """

    codes = ("ACTION_ERROR",)
    http_status = 400

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
        super().__init__(message or f"action error: {payload!r}", code=code, details=details, hint=hint)
        self.payload = details["payload"]
        self.status = details["status"]

    @property
    def run_status(self) -> int:
        status = self.status
        return status if isinstance(status, int) and not isinstance(status, bool) and 400 <= status <= 599 else 400


class RunError(SpliceError):
    """The run failed; raised as itself, its process died without a result."""

    codes = ("RUN_ERROR", "CHILD_CRASHED")


class ScriptError(RunError):
    """The script raised; ``details`` has ``type``, ``message`` and ``traceback``."""

    codes = ("SCRIPT_ERROR", "INVALID_OUTPUT", "HOOK_CONTRACT")


class LimitExceeded(RunError):
    """The run passed one of its limits; another attempt would pass it again."""

    codes = (
        "LIMIT_EXCEEDED",
        "MEMORY_LIMIT_EXCEEDED",
        "OUTPUT_TOO_LARGE",
        "PROCESS_LIMIT_EXCEEDED",
        "FILE_SIZE_LIMIT_EXCEEDED",
    )
    retryable = False


class TimeLimitExceeded(LimitExceeded):
    codes = ("TIME_LIMIT_EXCEEDED",)
    http_status = 504


class SandboxViolation(RunError):
    """The script tried something its sandbox forbids: a socket, a file outside its view, a signal."""

    codes = ("SANDBOX_DENIED",)


class WorkerLost(RunError):
    """The process running the run died (a worker killed, a machine lost) before it finished."""

    codes = ("WORKER_LOST",)
    hint = "a job is retried by the engine; run anything else again"


class Cancelled(RunError):
    """The run's caller gave up on it (Ctrl-C, a closed request, a worker shutting down)."""

    codes = ("CANCELLED",)
    retryable = False


class Unavailable(SpliceError):
    """Something splice needs did not answer in time (its database, a lock, the splice server)."""

    codes = ("DATABASE_UNAVAILABLE", "LOCK_TIMEOUT", "SERVER_UNREACHABLE", "SERVER_TIMEOUT")
    http_status = 503


class InternalError(SpliceError):
    """A failure inside splice rather than in the script or the request: a bug to report."""

    codes = ("INTERNAL_ERROR", "ZYGOTE_GONE", "PARENT_GONE")


def _classes(root: type[SpliceError] = SpliceError) -> list[type[SpliceError]]:
    """This module's classes, parents first (subclasses defined elsewhere are not splice's errors)."""
    found = [root]
    for sub in root.__subclasses__():
        if sub.__module__ == __name__:
            found += _classes(sub)
    return found


_BY_NAME: dict[str, type[SpliceError]] = {cls.__name__: cls for cls in _classes()}
#: every code splice raises, and the class that carries it
CODES: Mapping[str, type[SpliceError]] = MappingProxyType(
    {code: cls for cls in _classes() for code in cls.__dict__["codes"]}
)


def error_from_dict(data: Mapping[str, Any]) -> SpliceError:
    """Rebuild an error sent as :meth:`SpliceError.to_dict`, as the class its code belongs to.

    The code decides, so a dict built by hand or by an older splice (``{"code": "WORKER_LOST"}``)
    comes back knowing its statuses and whether a retry is worth it; an unknown code falls
    back to the ``type``, then to SpliceError. An ``ActionError`` stays one whatever its code:
    that is the script's to choose.
    """
    cls = _class_for(data)
    kwargs: dict[str, Any] = {"code": data.get("code"), "details": data.get("details") or {}}
    if data.get("hint"):
        kwargs["hint"] = data["hint"]
    if cls is ActionError:
        return ActionError(message=data.get("message"), **kwargs)
    return cls(str(data.get("message") or ""), hints=data.get("hints"), **kwargs)


def _class_for(data: Mapping[str, Any]) -> type[SpliceError]:
    by_type = _BY_NAME.get(str(data.get("type")))
    if by_type is ActionError:
        return ActionError
    return CODES.get(str(data.get("code"))) or by_type or SpliceError
