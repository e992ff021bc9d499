"""Large JSON fields in lists, replaced by a marker so a page stays small whatever the objects hold.

In ``GET /runs``, ``GET /logs`` and ``GET /connections`` a field of user JSON (a run's input,
output, error or progress; a log line's fields; a connection's config or metadata) whose JSON
is over :data:`LIST_FIELD_BYTES` is listed as ``{"_truncated": true, "bytes": N}``. The
object's own ``GET`` (``/runs/{id}``, ``/connections/{integration}/{id}``) has the full value,
and so does ``GET /logs/export``.
"""

from __future__ import annotations

from typing import Any

import orjson

#: the largest JSON field a list carries as is
LIST_FIELD_BYTES = 4096


def clip(value: Any, limit: int = LIST_FIELD_BYTES) -> Any:
    """``value``, or the marker saying how many bytes of JSON it is when that is over ``limit``."""
    if value is None or isinstance(value, bool | int | float):
        return value
    size = len(orjson.dumps(value))
    return value if size <= limit else {"_truncated": True, "bytes": size}
