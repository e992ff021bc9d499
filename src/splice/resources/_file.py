"""File definitions as resources: a :mod:`splice.files` format with a name, for exports and imports.

An export with ``file=`` reads its answer as a file of that format (each row, fixed-width line
or X12 transaction set a record); an import with ``file=`` sends its batch as one generated
file. The document is the format's own (``{"format": "delimited", "separator": ";"}``) plus the
resource's identity (``integration``, ``name``, ``external_id``).

Records cross JSON boundaries (a run's output, REST), so a fixed-width ``decimal`` column is
given as its exact text (``"12.50"``), which generating accepts back.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO

from splice.files import X12, Delimited, FixedWidth, file_definition
from splice.resources._check import Where

_IDENTITY = ("name", "integration", "external_id")
_CONTENT_TYPES = {"delimited": "text/csv", "fixed_width": "text/plain", "x12": "application/edi-x12"}


@dataclass(frozen=True, slots=True, kw_only=True)
class FileDefinition:
    """A named file format: ``rules`` parse downloads and generate uploads."""

    name: str
    integration: str
    rules: Delimited | FixedWidth | X12
    external_id: str | None = None

    def __post_init__(self) -> None:
        where = self.where
        where.string(self.name, "name")
        where.string(self.integration, "integration")
        where.optional_string(self.external_id, "external_id")
        if not isinstance(self.rules, Delimited | FixedWidth | X12):
            raise where.invalid("rules", "must be a splice.files Delimited, FixedWidth or X12")

    @property
    def where(self) -> Where:
        return Where("file definition", self.name)

    @property
    def content_type(self) -> str:
        """What an upload of this format says it is."""
        if isinstance(self.rules, Delimited) and self.rules.separator == "\t":
            return "text/tab-separated-values"
        return _CONTENT_TYPES[self.rules.format]

    def parse(self, data: bytes) -> list[dict[str, Any]]:
        return list(self.iter_parse(io.BytesIO(data)))

    def iter_parse(self, stream: BinaryIO) -> Iterator[dict[str, Any]]:
        """Records, read as the stream goes (memory bounded by a record, not the file)."""
        for record in self.rules.iter_parse(stream):
            yield _jsonable(record)

    def generate(self, records: Iterable[Mapping[str, Any]]) -> bytes:
        return self.rules.generate(records)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "integration": self.integration, **self.rules.to_document()}
        if self.external_id is not None:
            data["external_id"] = self.external_id
        return data

    @classmethod
    def from_json(cls, data: Any) -> FileDefinition:
        where = Where("file definition", data.get("name") if isinstance(data, dict) else None)
        if not isinstance(data, Mapping):
            raise where.invalid("(document)", "must be an object")
        for name in ("name", "integration"):
            if name not in data:
                raise where.invalid(name, "is required")
        rules = file_definition({k: v for k, v in data.items() if k not in _IDENTITY})
        return cls(rules=rules, **{k: data[k] for k in _IDENTITY if k in data})


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
