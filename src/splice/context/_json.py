"""Values a script hands to ``ctx`` are checked to be JSON here, in the child, with a clear error."""

from __future__ import annotations

from typing import Any

import orjson

from splice import _json
from splice.errors import InvalidInput


def state_key(key: Any) -> str:
    if not isinstance(key, str) or not key or len(key) > 512:
        raise InvalidInput(f"state key must be a non-empty string of at most 512 characters, not {key!r}")
    return key


def json_value(value: Any, what: str, field: str = "value") -> Any:
    """``value`` as the JSON the parent will store: refused here if it holds NaN or Infinity,
    which the socket's JSON would otherwise turn into ``null``."""
    return orjson.loads(_json.encode(value, what, field, strict=False))


def json_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a dict, not {type(value).__name__}")
    return json_value(value, what, what)
