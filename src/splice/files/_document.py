"""Reading file definitions' JSON documents, and the errors every format raises.

A definition that is wrong is the caller's to fix before any file is read, so it fails with
``InvalidInput(code="INVALID_RESOURCE")`` naming the field (``columns[2].length``); a file or a
record that does not fit a sound definition fails with :class:`~splice.errors.FileInvalid`
naming where (``line``/``column``, ``segment``, or ``record``/``field``).
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import Any

from splice.errors import FileInvalid, InvalidInput


def invalid(kind: str, field: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"file definition ({kind}): {field}: {message}",
        code="INVALID_RESOURCE",
        details={"resource": "file_definition", "format": kind, "field": field},
    )


def file_invalid(message: str, **where: Any) -> FileInvalid:
    """``where`` goes to ``details`` (``line``, ``column``, ``segment``, ``record``, ``field``...) and prefixes
    the message, so the place is in both."""
    place = ", ".join(f"{key} {value}" for key, value in where.items() if value is not None)
    return FileInvalid(f"{place}: {message}" if place else message, details=where)


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Fields:
    """One document being read: each accessor takes a key, checks its type and names it when it is wrong."""

    __slots__ = ("doc", "kind", "prefix")

    def __init__(self, doc: Any, kind: str, accepted: set[str], prefix: str = "") -> None:
        self.kind = kind
        self.prefix = prefix
        if not isinstance(doc, Mapping):
            raise invalid(kind, prefix or "(document)", f"must be an object, not {type(doc).__name__}")
        unknown = sorted(str(key) for key in doc if key not in accepted)
        if unknown:
            raise invalid(kind, prefix + unknown[0], f"unknown key (accepted: {', '.join(sorted(accepted))})")
        self.doc = doc

    def fail(self, key: str, message: str) -> InvalidInput:
        return invalid(self.kind, self.prefix + key, message)

    def get(self, key: str, types: type | tuple[type, ...], what: str, default: Any = None) -> Any:
        """``doc[key]`` if it is one of ``types`` (a bool is never taken for a number); ``default`` when absent,
        or an error when ``default`` is :data:`REQUIRED`."""
        if key not in self.doc:
            if default is REQUIRED:
                raise self.fail(key, "is required")
            return default
        value = self.doc[key]
        allowed = types if isinstance(types, tuple) else (types,)
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            raise self.fail(key, f"must be {what}, not {shown(value)}")
        return value


#: the ``default`` of a key that must be there
REQUIRED: Any = object()


def check_encoding(kind: str, encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise invalid(kind, "encoding", f"unknown encoding {shown(encoding)}") from None


def check_char(kind: str, field: str, value: Any) -> None:
    if not isinstance(value, str) or len(value) != 1:
        raise invalid(kind, field, f"must be one character, not {shown(value)}")


LINE_TERMINATORS = ("\r\n", "\n", "\r")


def check_terminator(kind: str, value: Any) -> None:
    if value not in LINE_TERMINATORS:
        raise invalid(kind, "line_terminator", f'must be "\\r\\n", "\\n" or "\\r", not {shown(value)}')
