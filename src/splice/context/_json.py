"""Values a script hands to ``ctx`` are checked to be JSON here, in the child, with a clear error."""

from __future__ import annotations

from typing import Any

import orjson

from splice.errors import InvalidInput


def state_key(key: Any) -> str:
    if not isinstance(key, str) or not key or len(key) > 512:
        raise InvalidInput(f"state key must be a non-empty string of at most 512 characters, not {key!r}")
    return key


def json_value(value: Any, key: str) -> Any:
    try:
        return orjson.loads(orjson.dumps(value))
    except TypeError:
        raise InvalidInput(f"state value for {key!r} is not JSON-serialisable ({type(value).__name__})") from None


def json_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a dict, not {type(value).__name__}")
    return json_value(value, what)
