"""Fixed-width files: each line is the same number of characters, cut into columns at fixed positions.

Positions count characters, not bytes, so a UTF-8 file with accented names lines up as it does
in an editor. Parsing strips each column's padding on the side its alignment pads and converts
the type; generating pads it back, so a file whose values are written the way :meth:`FixedWidth.generate`
writes them round-trips byte for byte. What does not: characters between columns (gaps are read
past and written as spaces), numbers written unusually (``+5``, ``007`` padded with spaces,
``12.5`` in a column of two decimals), and an all-padding number in a zero-padded column, which is 0.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO, ClassVar

from splice.files._document import (
    REQUIRED,
    Fields,
    check_char,
    check_encoding,
    check_terminator,
    file_invalid,
    invalid,
)

_TYPES = ("string", "integer", "decimal")
_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")
_BATCH = 2000


@dataclass(frozen=True, slots=True)
class Column:
    """One column: ``start`` is the 1-based character position, ``length`` its width in characters.

    ``type``: ``"string"`` (a str; padding stripped), ``"integer"`` (an int, or None when all
    padding) or ``"decimal"`` (a :class:`~decimal.Decimal`, exact; ``decimals`` fixes the digits
    after the point, and with ``implied_decimal`` the point is not written: ``1250`` is 12.50).
    ``align="right"`` pads on the left; a right-aligned number padded with ``"0"`` keeps its sign
    first (``-0012``).
    """

    name: str
    start: int
    length: int
    type: str = "string"
    padding: str = " "
    align: str = "left"
    decimals: int | None = None
    implied_decimal: bool = False

    @property
    def end(self) -> int:
        """The 0-based index just past the column."""
        return self.start - 1 + self.length

    def to_document(self) -> dict[str, Any]:
        return {"name": self.name, "start": self.start, "length": self.length, "type": self.type,
                "padding": self.padding, "align": self.align, "decimals": self.decimals,
                "implied_decimal": self.implied_decimal}  # fmt: skip

    @classmethod
    def from_document(cls, doc: Any, prefix: str) -> Column:
        fields = Fields(doc, FixedWidth.format, set(cls.__dataclass_fields__), prefix)
        return cls(
            name=fields.get("name", str, "a string", REQUIRED),
            start=fields.get("start", int, "a whole number", REQUIRED),
            length=fields.get("length", int, "a whole number", REQUIRED),
            type=fields.get("type", str, "a string", "string"),
            padding=fields.get("padding", str, "a string", " "),
            align=fields.get("align", str, "a string", "left"),
            decimals=fields.get("decimals", (int, type(None)), "a whole number or null", None),
            implied_decimal=fields.get("implied_decimal", bool, "true or false", False),
        )

    # --- values ----------------------------------------------------------------------------

    def read(self, raw: str) -> Any:
        """The value of this column's characters ``raw``; ValueError when they are not its type."""
        text = raw.rstrip(self.padding) if self.align == "left" else raw.lstrip(self.padding)
        if self.type == "string":
            return text
        if not text:
            if self.padding != "0" or not raw:
                return None
            text = "0"  # a zero-padded number that is all padding is 0
        if self.type == "integer" or self.implied_decimal:
            if not _INTEGER.fullmatch(text):
                raise ValueError(f"{raw!r} is not a whole number")
            return int(text) if self.type == "integer" else Decimal(int(text)).scaleb(-(self.decimals or 0))
        if not _DECIMAL.fullmatch(text):
            raise ValueError(f"{raw!r} is not a decimal number")
        return Decimal(text)

    def write(self, value: Any) -> str:
        """This column's characters for ``value``; ValueError when it does not fit or is not its type."""
        if value is None:
            return self.padding * self.length
        text = self._text(value)
        if len(text) > self.length:
            raise ValueError(f"{text!r} is {len(text)} characters, the column {self.length}")
        if self.align == "left":
            return text.ljust(self.length, self.padding)
        if self.padding == "0" and text.startswith("-"):
            return "-" + text[1:].rjust(self.length - 1, "0")
        return text.rjust(self.length, self.padding)

    def _text(self, value: Any) -> str:
        if self.type == "string":
            text = value if isinstance(value, str) else str(value)
            if "\n" in text or "\r" in text:
                raise ValueError("a line break cannot be written in a fixed-width column")
            return text
        number = _number(value, self.type)
        if self.type == "integer":
            return str(number)
        places = self.decimals
        if places is not None:
            exact = number.quantize(Decimal(1).scaleb(-places))
            if exact != number:
                raise ValueError(f"{value!r} has more than {places} decimals")
            number = exact
        return str(int(number.scaleb(places or 0))) if self.implied_decimal else format(number, "f")


def _number(value: Any, type_: str) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, str):
        pattern = _INTEGER if type_ == "integer" else _DECIMAL
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not a {'whole' if type_ == 'integer' else 'decimal'} number")
        return int(value) if type_ == "integer" else Decimal(value)
    if type_ == "integer":
        if isinstance(value, int):
            return value
        raise ValueError(f"{value!r} is not a whole number")
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError):
        raise ValueError(f"{value!r} is not a decimal number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a decimal number")
    return number


@dataclass(frozen=True, slots=True)
class FixedWidth:
    """A fixed-width file: its columns, line terminator, encoding, and whether the last line ends with a terminator.

    >>> orders = FixedWidth(columns=[Column("id", 1, 5, "integer", align="right", padding="0"),
    ...                              Column("name", 6, 10)])
    >>> orders.parse(b"00042Ann       \\n")
    [{'id': 42, 'name': 'Ann'}]
    """

    format: ClassVar[str] = "fixed_width"

    columns: tuple[Column, ...]
    line_terminator: str = "\n"
    encoding: str = "utf-8"
    final_newline: bool = True

    def __post_init__(self) -> None:
        columns = tuple(self.columns) if isinstance(self.columns, list | tuple) else None
        if not columns:
            raise invalid(self.format, "columns", "must be a non-empty list of columns")
        object.__setattr__(self, "columns", columns)
        taken: dict[str, int] = {}
        for i, column in enumerate(columns):
            _check_column(column, f"columns[{i}]")
            if column.name in taken:
                also = f"{column.name!r} is also columns[{taken[column.name]}]"
                raise invalid(self.format, f"columns[{i}].name", also)
            taken[column.name] = i
        ordered = sorted(columns, key=lambda c: c.start)
        for before, after in itertools.pairwise(ordered):
            if after.start - 1 < before.end:
                where = f"columns[{columns.index(after)}].start"
                raise invalid(self.format, where, f"{after.name!r} overlaps {before.name!r}")
        check_terminator(self.format, self.line_terminator)
        object.__setattr__(self, "encoding", check_encoding(self.format, self.encoding))

    @property
    def width(self) -> int:
        """Characters per line, without the terminator."""
        return max(column.end for column in self.columns)

    # --- parsing ---------------------------------------------------------------------------

    def parse(self, data: bytes) -> list[dict[str, Any]]:
        """Every record; :class:`~splice.errors.FileInvalid` names the line, the column and its name."""
        return list(self.iter_parse(io.BytesIO(data)))

    def iter_parse(self, stream: BinaryIO) -> Iterator[dict[str, Any]]:
        """Records one at a time, reading ``stream`` line by line (it is left open)."""
        text = io.TextIOWrapper(stream, encoding=self.encoding, newline="")
        number = 0
        try:
            for number, line in enumerate(text, 1):
                yield self._record(line, number)
        except UnicodeDecodeError as e:
            raise file_invalid(f"not {self.encoding} text: {e.reason}", line=number + 1) from None
        finally:
            text.detach()

    def _record(self, line: str, number: int) -> dict[str, Any]:
        terminator = self.line_terminator
        if line.endswith(terminator) and not (terminator == "\n" and line.endswith("\r\n")):
            body = line[: -len(terminator)]
        else:
            body = line.rstrip("\r\n")  # the last line without a terminator, or another terminator
            if body != line and len(body) == self.width:
                raise file_invalid(f"the line ends with {line[len(body) :]!r}, the definition says {terminator!r}",
                                   line=number, column=len(body) + 1)  # fmt: skip
        if len(body) != self.width:
            at = min(len(body), self.width)
            column = next((c for c in self.columns if c.start - 1 <= at < c.end), self.columns[-1])
            raise file_invalid(f"the line is {len(body)} characters, the definition's columns {self.width}",
                               line=number, column=at + 1, field=column.name)  # fmt: skip
        record: dict[str, Any] = {}
        for column in self.columns:
            try:
                record[column.name] = column.read(body[column.start - 1 : column.end])
            except ValueError as e:
                raise file_invalid(str(e), line=number, column=column.start, field=column.name) from None
        return record

    # --- generating ------------------------------------------------------------------------

    def generate(self, records: Iterable[Mapping[str, Any]]) -> bytes:
        """The file for ``records``; a missing key or None is written as padding."""
        return b"".join(self.iter_generate(records))

    def iter_generate(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        """The file in chunks of a few thousand lines."""
        ordered = sorted(self.columns, key=lambda c: c.start)
        lines: list[str] = []
        first = 0  # the index of lines[0]'s record
        for index, record in enumerate(records):
            if not lines:
                first = index
            lines.append(self._line(ordered, record, index))
            if len(lines) >= _BATCH:
                yield self._encode(lines, first)
                lines = []
        if lines:
            if not self.final_newline:
                lines[-1] = lines[-1][: -len(self.line_terminator)]
            yield self._encode(lines, first)

    def _line(self, ordered: list[Column], record: Mapping[str, Any], index: int) -> str:
        if not isinstance(record, Mapping):
            raise file_invalid(f"must be an object, not {type(record).__name__}", record=index)
        parts: list[str] = []
        at = 0
        for column in ordered:
            if column.start - 1 > at:
                parts.append(" " * (column.start - 1 - at))
            try:
                parts.append(column.write(record.get(column.name)))
            except ValueError as e:
                raise file_invalid(str(e), record=index, field=column.name) from None
            at = column.end
        parts.append(self.line_terminator)
        return "".join(parts)

    def _encode(self, lines: list[str], first: int) -> bytes:
        try:
            return "".join(lines).encode(self.encoding)
        except UnicodeEncodeError:
            for offset, line in enumerate(lines):
                try:
                    line.encode(self.encoding)
                except UnicodeEncodeError as e:
                    field = next(c.name for c in self.columns if c.start - 1 <= e.start < c.end)
                    message = f"cannot be written in {self.encoding}"
                    raise file_invalid(message, record=first + offset, field=field) from None
            raise

    # --- the definition --------------------------------------------------------------------

    def to_document(self) -> dict[str, Any]:
        return {"format": self.format, "columns": [c.to_document() for c in self.columns],
                "line_terminator": self.line_terminator, "encoding": self.encoding,
                "final_newline": self.final_newline}  # fmt: skip

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> FixedWidth:
        fields = Fields(doc, cls.format, {*cls.__dataclass_fields__, "format"})
        columns = fields.get("columns", (list, tuple), "a list of columns", REQUIRED)
        return cls(
            columns=tuple(Column.from_document(c, f"columns[{i}].") for i, c in enumerate(columns)),
            line_terminator=fields.get("line_terminator", str, "a string", "\n"),
            encoding=fields.get("encoding", str, "a string", "utf-8"),
            final_newline=fields.get("final_newline", bool, "true or false", True),
        )


def _check_column(column: Any, where: str) -> None:
    kind = FixedWidth.format
    if not isinstance(column, Column):
        raise invalid(kind, where, f"must be a Column, not {type(column).__name__}")
    if not isinstance(column.name, str) or not column.name:
        raise invalid(kind, f"{where}.name", "must be a non-empty string")
    for field in ("start", "length"):
        value = getattr(column, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise invalid(kind, f"{where}.{field}", f"must be a whole number from 1, not {value!r}")
    if column.type not in _TYPES:
        raise invalid(kind, f"{where}.type", f"must be one of {', '.join(_TYPES)}, not {column.type!r}")
    check_char(kind, f"{where}.padding", column.padding)
    if column.padding in "\r\n":
        raise invalid(kind, f"{where}.padding", "cannot be a line break")
    if column.align not in ("left", "right"):
        raise invalid(kind, f"{where}.align", f"must be left or right, not {column.align!r}")
    decimals = column.decimals
    if decimals is not None and (isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0):
        raise invalid(kind, f"{where}.decimals", f"must be a whole number from 0, not {decimals!r}")
    if (decimals is not None or column.implied_decimal) and column.type != "decimal":
        raise invalid(kind, f"{where}.decimals", "only a decimal column has decimals")
    if column.implied_decimal and decimals is None:
        raise invalid(kind, f"{where}.decimals", "an implied decimal point needs the number of decimals")
