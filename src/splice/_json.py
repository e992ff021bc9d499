"""JSON values as splice keeps them: plain JSON, finite numbers, a bounded size.

orjson writes NaN and ±Infinity as ``null``, so a value holding one would be stored changed
without a word (``1e999`` in a request body is Infinity by the time it is parsed). Every
place that stores or sends JSON on a user's behalf encodes it with :func:`encode`, which
refuses such a value and names where in it the number is. Light on imports on purpose: a
run's child uses it too.

>>> encode({"a": [1, float("nan")]}, "state value", "value")
Traceback (most recent call last):
splice.errors.InvalidInput: state value holds NaN at value.a[1], which JSON cannot represent
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from splice.errors import InvalidInput

#: datetimes and dataclasses are refused (``TypeError``) instead of silently turned into strings
OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def encode(value: Any, what: str, field: str, *, strict: bool = True) -> bytes:
    """``value`` as JSON bytes, or :class:`InvalidInput` naming ``what`` and the offending ``field`` path.

    ``strict=False`` lets orjson turn datetimes and dataclasses into JSON, as a script's
    ``ctx`` calls always have; NaN and Infinity are refused either way.
    """
    try:
        encoded = orjson.dumps(value, option=OPTIONS if strict else None)
    except TypeError as exc:
        raise InvalidInput(
            f"{what} is not JSON-serialisable ({type(value).__name__}): {exc}",
            details={"field": field, "type": type(value).__name__},
        ) from None
    # orjson writes NaN and ±Infinity as null: only a value whose JSON has one can hold them
    found = _locate(value) if b"null" in encoded and _has_non_finite(value) else None
    if found is not None:
        where, number = field + found[0], found[1]
        raise InvalidInput(
            f"{what} holds {_describe(number)} at {where}, which JSON cannot represent",
            details={"field": where},
            hint="send a finite number (1e999 overflows to Infinity), or null, or the number as a string",
        )
    return encoded


def oversize(encoded: bytes, limit: int, what: str, field: str) -> dict[str, Any] | None:
    """None when ``encoded`` JSON fits in ``limit`` bytes; else the ``message`` and ``details``
    of the caller's refusal, saying both sizes."""
    if len(encoded) <= limit:
        return None
    return {
        "message": f"{what} is {len(encoded):,} bytes of JSON; the limit is {limit:,}",
        "details": {"field": field, "bytes": len(encoded), "limit_bytes": limit},
    }


def _locate(value: Any) -> tuple[str, float] | None:
    """The path (``.a[1]``) and value of the first NaN or ±Infinity inside ``value``, if any."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return path, item
        if isinstance(item, dict):
            stack.extend((f"{path}.{key}", child) for key, child in reversed(item.items()))
        elif isinstance(item, list | tuple):
            stack.extend((f"{path}[{index}]", child) for index, child in reversed(list(enumerate(item))))
    return None


def finite_or_named(value: Any) -> Any:
    """``value`` with every NaN and ±Infinity replaced by its name (``"NaN"``, ``"Infinity"``).

    For log fields: a log line is for reading, so it keeps the number's name rather than
    failing the run or turning it into ``null``.
    """
    return _named(value) if _has_non_finite(value) else value


def _named(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return _describe(value)
    if isinstance(value, dict):
        return {key: _named(child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [_named(child) for child in value]
    return value


def _has_non_finite(value: Any) -> bool:
    """:func:`_locate` without building paths: most values whose JSON has a null hold no NaN."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def _describe(number: float) -> str:
    if math.isnan(number):
        return "NaN"
    return "Infinity" if number > 0 else "-Infinity"
