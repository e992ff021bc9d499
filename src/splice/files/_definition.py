"""One entry point for a file definition's JSON document, whatever its format."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO, Protocol

from splice.files._delimited import Delimited
from splice.files._document import invalid, shown
from splice.files._fixed import FixedWidth
from splice.files._x12 import X12

FORMATS: dict[str, type[Delimited] | type[FixedWidth] | type[X12]] = {
    Delimited.format: Delimited,
    FixedWidth.format: FixedWidth,
    X12.format: X12,
}


class FileFormat(Protocol):
    """What every format offers: exports parse downloaded files with it, imports generate uploads."""

    def parse(self, data: bytes) -> list[dict[str, Any]]: ...

    def iter_parse(self, stream: BinaryIO) -> Iterator[dict[str, Any]]: ...

    def generate(self, records: Iterable[Mapping[str, Any]]) -> bytes: ...

    def iter_generate(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]: ...

    def to_document(self) -> dict[str, Any]: ...


def file_definition(doc: Mapping[str, Any]) -> Delimited | FixedWidth | X12:
    """The definition a JSON document describes (what ``to_document()`` gives back), by its ``format``.

    >>> file_definition({"format": "delimited", "separator": "\\t"}).parse(b"a\\tb\\n1\\t2\\n")
    [{'a': '1', 'b': '2'}]

    A wrong document raises ``InvalidInput`` (code ``INVALID_RESOURCE``) naming the field.
    """
    if not isinstance(doc, Mapping):
        raise invalid("?", "(document)", f"must be an object, not {type(doc).__name__}")
    kind = doc.get("format")
    if kind not in FORMATS:
        known = ", ".join(FORMATS)
        raise invalid(str(kind), "format", f"{'is required' if kind is None else f'unknown {shown(kind)}'} ({known})")
    return FORMATS[kind].from_document(doc)
