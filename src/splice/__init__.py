"""splice: a self-hostable integration runtime for Python.

What a script author needs is importable from here; everything else is private::

    from splice import Integration, auth, paginate, ActionError
    from splice.triggers import HmacSignature, Header, Response
"""

from splice import auth, paginate, triggers
from splice.context import Context, FullResponse, RunInfo
from splice.errors import (
    AccessTokenExpired,
    ActionError,
    ApiError,
    ConnectionBroken,
    ConnectionError,
    CredentialsError,
    InvalidJson,
    RateLimitExceeded,
    SpliceError,
    TimeLimitExceeded,
)
from splice.flows import expr, step
from splice.integration import Integration

__version__ = "0.1.0"

__all__ = [
    "AccessTokenExpired",
    "ActionError",
    "ApiError",
    "ConnectionBroken",
    "ConnectionError",
    "Context",
    "CredentialsError",
    "FullResponse",
    "Integration",
    "InvalidJson",
    "RateLimitExceeded",
    "RunInfo",
    "SpliceError",
    "TimeLimitExceeded",
    "auth",
    "expr",
    "paginate",
    "step",
    "triggers",
]
