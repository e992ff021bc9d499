"""HTTP plumbing shared by auth flows, paginators and the parent-side gateway.

``Request`` and ``Response`` are plain values (auth flows and run children use them); the
transport seam (``Transport``, its default ``AiohttpTransport``, ``TransportError``) is
loaded on first use, so a run's child, which imports this package through ``splice.auth``,
never imports aiohttp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splice._http.models import Request, Response

if TYPE_CHECKING:
    from splice._http.transport import AiohttpTransport, Transport, TransportError

__all__ = ["AiohttpTransport", "Request", "Response", "Transport", "TransportError"]

_TRANSPORT = frozenset({"AiohttpTransport", "Transport", "TransportError"})


def __getattr__(name: str) -> Any:
    if name in _TRANSPORT:
        from splice._http import transport

        return getattr(transport, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
