"""Reading resource documents: every refusal names the resource, the field path and what is accepted.

``export 'contacts': paging.method: unknown paging method 'pages' (known: body, linkheader, …)``
is the shape of every message, so a user fixing a JSON document never has to guess which
field of which resource is wrong. Also the dotted paths (``data.items``) that exports and
imports use to find records, tokens and ids in a response.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from splice.errors import InvalidInput, SpliceError

#: what a dotted path finds when a key is not there (None is a JSON null that is there)
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__bool__": lambda self: False})()


class Where:
    """A resource being read: ``Where("export", "contacts")`` names it in every message."""

    __slots__ = ("kind", "name")

    def __init__(self, kind: str, name: Any) -> None:
        self.kind = kind
        self.name = name

    def __str__(self) -> str:
        return f"{self.kind} {self.name!r}"

    def invalid(self, field: str, message: str, hint: str | None = None) -> InvalidInput:
        return InvalidInput(
            f"{self}: {field}: {message}",
            code="INVALID_RESOURCE",
            details={"resource": self.kind, "name": self.name, "field": field},
            hint=hint,
        )

    def only(self, data: Any, field: str, accepted: set[str]) -> Mapping[str, Any]:
        """``data`` as an object with no key outside ``accepted`` (the first unknown one is named)."""
        if not isinstance(data, Mapping):
            raise self.invalid(field or "(document)", f"must be an object, not {type_name(data)}")
        unknown = sorted(str(key) for key in data if key not in accepted)
        if unknown:
            prefix = f"{field}." if field else ""
            raise self.invalid(prefix + unknown[0], f"unknown key (accepted: {', '.join(sorted(accepted))})")
        return data

    def string(self, value: Any, field: str, *, empty: bool = False) -> str:
        if not isinstance(value, str) or (not empty and not value):
            raise self.invalid(field, f"must be a {'' if empty else 'non-empty '}string, not {shown(value)}")
        return value

    def optional_string(self, value: Any, field: str) -> str | None:
        return None if value is None else self.string(value, field)

    def integer(self, value: Any, field: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.invalid(field, f"must be a whole number from {low:,} to {high:,}, not {shown(value)}")
        return value

    def choice(self, value: Any, field: str, known: Any, what: str) -> str:
        if value not in known:
            raise self.invalid(field, f"unknown {what} {shown(value)} (known: {', '.join(sorted(known))})")
        return value

    def strings(self, value: Any, field: str) -> tuple[str, ...]:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise self.invalid(field, f"must be a list of strings, not {shown(value)}")
        return tuple(value)

    def string_map(self, value: Any, field: str) -> dict[str, str]:
        pairs = value.items() if isinstance(value, Mapping) else None
        strings = pairs is not None and all(isinstance(k, str) and isinstance(v, str) for k, v in pairs)
        if not strings:
            raise self.invalid(field, f"must be an object of strings, not {shown(value)}")
        return dict(value)

    def json_value(self, value: Any, field: str) -> Any:
        try:
            orjson.dumps(value)
        except TypeError as exc:
            raise self.invalid(field, f"must be a JSON value: {exc}") from None
        return value


def to_document(value: Any, optional: list[str], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """An export's or import's JSON form: its identity, then each optional field not at its default."""
    data: dict[str, Any] = {"name": value.name, "integration": value.integration, "method": value.method,
                            "path": value.path}  # fmt: skip
    for name in optional:
        field = getattr(value, name)
        if field == defaults[name]:
            continue
        if hasattr(field, "to_json"):
            field = field.to_json()
        data[name] = list(field) if isinstance(field, tuple) else field
    return data


def from_document(
    kind: str, data: Any, keys: set[str], required: tuple[str, ...] = ("name", "integration", "path")
) -> tuple[Where, dict[str, Any]]:
    """The fields of a resource's document, its keys checked and the required ones there."""
    where = Where(kind, data.get("name") if isinstance(data, dict) else None)
    where.only(data, "", keys)
    values = dict(data)
    for name in required:
        if name not in values:
            raise where.invalid(name, "is required")
    return where, values


def type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def get_path(data: Any, path: str) -> Any:
    """The value at a dotted path (``"meta.next"``, ``"results.0.id"``), or :data:`MISSING`."""
    value = data
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part, MISSING)
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
        if value is MISSING:
            return MISSING
    return value


def as_text(value: Any) -> str:
    """A JSON value as the string Celigo compares (``true``, ``null``, ``3``, the string itself)."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def record_error(error: SpliceError, source: str, **extra: Any) -> dict[str, Any]:
    """One record's (or one page's) error in Celigo's shape ``{code, message, source, …}``."""
    return {"code": error.code, "message": error.message, "source": source, **extra}
