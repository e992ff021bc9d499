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
    ConnectionError,
    RateLimitExceeded,
    SpliceError,
)
from splice.integration import Integration

__version__ = "0.1.0"

__all__ = [
    "AccessTokenExpired",
    "ActionError",
    "ApiError",
    "ConnectionError",
    "Context",
    "FullResponse",
    "Integration",
    "RateLimitExceeded",
    "RunInfo",
    "SpliceError",
    "auth",
    "paginate",
    "triggers",
]
