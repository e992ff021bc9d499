"""Delimited files (CSV, TSV, any one-character separator), read and written by the standard library's ``csv``.

Records are dicts of strings keyed by the header's names, by ``columns``, or by ``"1"``, ``"2"``...
when the file has no header and the definition no columns. :meth:`Delimited.detect` reads what a
byte-exact round trip needs from a file (line terminator, BOM, quoting style, final newline, the
header's names), so ``d = Delimited.detect(x); d.generate(d.parse(x)) == x`` for every file ``csv``
itself would write. What does not come back byte for byte, because ``csv`` keeps no trace of it:

* quotes where none are needed (``"abc"`` in a ``quoting="minimal"`` file, or an empty field left
  unquoted in a ``quoting="all"`` file) come back as ``csv`` writes that field;
* a file mixing line terminators comes back with the definition's one (inside quoted fields, line
  breaks are data and kept as they are);
* a UTF-8 BOM is always skipped on parse; it is written back only when ``bom`` is true.

Rows must have as many fields as the header (or ``columns``); a blank line is a row of none, so it
is refused too, naming its line.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar

from splice.files._document import (
    Fields,
    check_char,
    check_encoding,
    check_terminator,
    file_invalid,
    invalid,
)

_QUOTING = {"minimal": csv.QUOTE_MINIMAL, "all": csv.QUOTE_ALL}
_BATCH = 2000  # rows per generated chunk
_DETECT_BYTES = 1 << 16
_DETECT_ROWS = 50


@dataclass(frozen=True, slots=True)
class Delimited:
    """A delimited file: separator, quote character, header, encoding and the layout details a round trip keeps.

    >>> csv_ = Delimited()
    >>> csv_.parse(b"id,name\\r\\n1,Ann\\r\\n")
    [{'id': '1', 'name': 'Ann'}]
    >>> Delimited(separator="\\t", header=False).parse(b"1\\tAnn\\n")
    [{'1': '1', '2': 'Ann'}]

    ``columns`` with ``header=True`` are the names the file's header must have (and what ``generate``
    writes even for no records); without a header they name the fields. ``quoting`` is ``"minimal"``
    (quote only fields that need it) or ``"all"``. ``final_newline``: whether the last row ends with
    ``line_terminator``.
    """

    format: ClassVar[str] = "delimited"

    separator: str = ","
    quote: str = '"'
    header: bool = True
    columns: tuple[str, ...] | None = None
    encoding: str = "utf-8"
    line_terminator: str = "\r\n"
    bom: bool = False
    quoting: str = "minimal"
    final_newline: bool = True

    def __post_init__(self) -> None:
        kind = self.format
        check_char(kind, "separator", self.separator)
        check_char(kind, "quote", self.quote)
        if self.separator == self.quote or self.separator in "\r\n" or self.quote in "\r\n":
            raise invalid(kind, "separator", "the separator and the quote must differ and not be line breaks")
        check_terminator(kind, self.line_terminator)
        if self.quoting not in _QUOTING:
            raise invalid(kind, "quoting", f"must be one of {', '.join(_QUOTING)}, not {self.quoting!r}")
        object.__setattr__(self, "encoding", check_encoding(kind, self.encoding))
        if self.bom and self.encoding != "utf-8":
            raise invalid(kind, "bom", f"a byte order mark is written for utf-8 only, not {self.encoding}")
        if self.columns is not None:
            columns = tuple(self.columns)
            if not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
                raise invalid(kind, "columns", "must be distinct strings")
            object.__setattr__(self, "columns", columns)

    # --- parsing ---------------------------------------------------------------------------

    def parse(self, data: bytes) -> list[dict[str, str]]:
        """Every record of ``data``; :class:`~splice.errors.FileInvalid` names the line of the first bad one."""
        return list(self.iter_parse(io.BytesIO(data)))

    def iter_parse(self, stream: BinaryIO) -> Iterator[dict[str, str]]:
        """Records one at a time, reading ``stream`` in buffered chunks (memory is bounded by the longest row).

        The stream is left open.
        """
        text = io.TextIOWrapper(stream, encoding=self._decoding, newline="")
        try:
            yield from self._records(text)
        finally:
            text.detach()

    @property
    def _decoding(self) -> str:
        return "utf-8-sig" if self.encoding == "utf-8" else self.encoding

    def _reader(self, lines: Iterable[str]) -> Any:
        return csv.reader(lines, delimiter=self.separator, quotechar=self.quote, quoting=csv.QUOTE_MINIMAL, strict=True)

    def _records(self, text: Iterable[str]) -> Iterator[dict[str, str]]:
        reader = self._reader(text)
        try:
            names = self._header(reader) if self.header else self.columns
            if names is None:
                yield from self._numbered(reader)
                return
            width = len(names)
            for row in reader:
                if len(row) != width:
                    raise self._width(row, width, _started(row, reader.line_num))
                yield dict(zip(names, row, strict=False))
        except csv.Error as e:
            raise file_invalid(f"not valid {self._what}: {e}", line=max(reader.line_num, 1)) from None
        except UnicodeDecodeError as e:
            raise file_invalid(f"not {self.encoding} text: {e.reason}", line=reader.line_num + 1) from None

    @property
    def _what(self) -> str:
        return "TSV" if self.separator == "\t" else "delimited text"

    def _header(self, reader: Any) -> tuple[str, ...] | None:
        row = next(reader, None)
        if row is None:
            return self.columns
        if self.columns is not None and tuple(row) != self.columns:
            at = next((i for i, (a, b) in enumerate(zip(row, self.columns, strict=False)) if a != b), None)
            at = min(len(row), len(self.columns)) if at is None else at
            raise file_invalid(f"the header is {row!r}, the definition's columns {list(self.columns)!r}", line=1,
                               column=at + 1)  # fmt: skip
        seen: set[str] = set()
        for i, name in enumerate(row):
            if name in seen:
                raise file_invalid(f"the header names {name!r} twice", line=1, column=i + 1)
            seen.add(name)
        return tuple(row)

    def _numbered(self, reader: Any) -> Iterator[dict[str, str]]:
        keys: dict[int, tuple[str, ...]] = {}
        for row in reader:
            width = len(row)
            names = keys.get(width) or keys.setdefault(width, tuple(str(i) for i in range(1, width + 1)))
            yield dict(zip(names, row, strict=False))

    def _width(self, row: list[str], width: int, line: int) -> Exception:
        what = "a blank line" if not row else f"{len(row)} fields"
        return file_invalid(f"{what}, the header has {width}", line=line, column=min(len(row), width) + 1)

    # --- generating ------------------------------------------------------------------------

    def generate(self, records: Iterable[Mapping[str, Any]]) -> bytes:
        """The file for ``records``; values are written as ``csv`` writes them (None as empty, numbers by ``str``)."""
        return b"".join(self.iter_generate(records))

    def iter_generate(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        """The file in chunks of a few thousand rows, so a large export is never held whole."""
        if self.bom:
            yield codecs.BOM_UTF8
        pending = ""  # the terminator of the last row written, held back until we know it is not the last
        for text in self._texts(records):
            if text:
                yield (pending + text[: -len(self.line_terminator)]).encode(self.encoding)
                pending = self.line_terminator
        if pending and self.final_newline:
            yield pending.encode(self.encoding)

    def _texts(self, records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
        names = self.columns
        known: set[str] | None = None  # the header's names taken from the first record: no other key may appear
        batch: list[Any] = [names] if self.header and names is not None else []
        first = -len(batch)  # the index of the record in batch[0]; the header is -1
        for index, record in enumerate(records):
            if names is None and self.header:
                names = self._names(record)
                known = set(names)
                batch, first = [names], -1
            if not batch:
                first = index
            batch.append(self._row(record, names, known, index))
            if len(batch) >= _BATCH:
                yield self._write(batch, first, names)
                batch = []
        yield self._write(batch, first, names)

    def _names(self, record: Mapping[str, Any]) -> tuple[str, ...]:
        if not isinstance(record, Mapping) or not all(isinstance(key, str) for key in record):
            raise file_invalid("the first record's keys name the header, so they must be strings", record=0)
        return tuple(record)

    def _row(self, record: Mapping[str, Any], names: tuple[str, ...] | None, known: set[str] | None,
             index: int) -> list[Any]:  # fmt: skip
        if not isinstance(record, Mapping):
            raise file_invalid(f"must be an object, not {type(record).__name__}", record=index)
        if names is None:
            width = len(record)
            names = tuple(str(i) for i in range(1, width + 1))
            if record.keys() != set(names):
                raise file_invalid(f"without a header or columns, keys must be '1'..'{width}'", record=index)
        elif known is not None and record.keys() != known:
            extra = next((key for key in record if key not in known), None)
            if extra is not None:
                raise file_invalid("not one of the header's columns", record=index, field=extra)
        return [record.get(name) for name in names]

    def _write(self, rows: list[Any], first: int, names: tuple[str, ...] | None) -> str:
        out = io.StringIO()
        writer = csv.writer(out, **self._dialect(self.line_terminator))
        writer.writerows(rows)
        text = out.getvalue()
        stray = {"\n": "\r", "\r": "\n"}.get(self.line_terminator)
        if stray and stray in text:  # csv quotes only the line breaks in its own terminator
            text = "".join(self._one(row) for row in rows)
        try:
            text.encode(self.encoding)
        except UnicodeEncodeError:
            raise self._unencodable(rows, first, names) from None
        return text

    def _dialect(self, terminator: str) -> dict[str, Any]:
        return {"delimiter": self.separator, "quotechar": self.quote, "lineterminator": terminator,
                "quoting": _QUOTING[self.quoting]}  # fmt: skip

    def _one(self, row: list[Any]) -> str:
        out = io.StringIO()
        csv.writer(out, **self._dialect("\r\n")).writerow(row)
        return out.getvalue()[:-2] + self.line_terminator

    def _unencodable(self, rows: list[Any], first: int, names: tuple[str, ...] | None) -> Exception:
        for offset, row in enumerate(rows):
            for position, value in enumerate(row):
                try:
                    str("" if value is None else value).encode(self.encoding)
                except UnicodeEncodeError:
                    field = names[position] if names else str(position + 1)
                    where = {"record": first + offset} if first + offset >= 0 else {"line": 1}
                    return file_invalid(f"cannot be written in {self.encoding}", **where, field=field)
        return file_invalid(f"cannot be written in {self.encoding}")

    # --- the definition --------------------------------------------------------------------

    @classmethod
    def detect(cls, data: bytes, **given: Any) -> Delimited:
        """The definition that writes ``data`` back byte for byte (see the module's list of what cannot).

        ``given`` fixes fields that cannot be guessed safely (``separator``, ``quote``, ``header``,
        ``encoding``); the rest is read from ``data``: the BOM, the first line terminator outside
        quotes, whether the first row quotes every field, the header's names, and whether the file
        ends with a line terminator. Pass the whole file, or at least its first rows and its end.
        """
        base = cls(**{k: v for k, v in given.items() if k in ("separator", "quote", "header", "encoding")})
        bom = base.encoding == "utf-8" and data.startswith(codecs.BOM_UTF8)
        text = data[len(codecs.BOM_UTF8) if bom else 0 : _DETECT_BYTES].decode(base.encoding, errors="replace")
        terminator = _first_line(text, base.quote)
        detected: dict[str, Any] = {"bom": bom, "line_terminator": terminator, "final_newline": True}
        if data:
            detected["final_newline"] = data.endswith(terminator.encode(base.encoding))
        rows: list[list[str]] = []
        with contextlib.suppress(csv.Error):  # a sample cut inside a quoted field
            rows.extend(itertools.islice(base._reader(io.StringIO(text, newline="")), _DETECT_ROWS))
        if rows:
            whole = len(data) <= _DETECT_BYTES and len(rows) < _DETECT_ROWS
            check = rows if whole else rows[:-1] or rows  # the last row read may be cut short
            written = {mode: "".join(Delimited(separator=base.separator, quote=base.quote, quoting=mode,
                                               line_terminator=terminator)._one(row) for row in check)
                       for mode in _QUOTING}  # fmt: skip
            if whole:
                fits = {mode: text in (out, out[: -len(terminator)]) for mode, out in written.items()}
            else:
                fits = {mode: text.startswith(out) for mode, out in written.items()}
            detected["quoting"] = "all" if fits["all"] and not fits["minimal"] else "minimal"
            if base.header:
                detected["columns"] = tuple(rows[0])
        return cls(**{**detected, **given})

    def to_document(self) -> dict[str, Any]:
        return {"format": self.format, "separator": self.separator, "quote": self.quote, "header": self.header,
                "columns": None if self.columns is None else list(self.columns), "encoding": self.encoding,
                "line_terminator": self.line_terminator, "bom": self.bom, "quoting": self.quoting,
                "final_newline": self.final_newline}  # fmt: skip

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Delimited:
        fields = Fields(doc, cls.format, {*cls.__dataclass_fields__, "format"})
        columns = fields.get("columns", (list, tuple, type(None)), "a list of strings or null")
        return cls(
            separator=fields.get("separator", str, "a string", ","),
            quote=fields.get("quote", str, "a string", '"'),
            header=fields.get("header", bool, "true or false", True),
            columns=None if columns is None else tuple(columns),
            encoding=fields.get("encoding", str, "a string", "utf-8"),
            line_terminator=fields.get("line_terminator", str, "a string", "\r\n"),
            bom=fields.get("bom", bool, "true or false", False),
            quoting=fields.get("quoting", str, "a string", "minimal"),
            final_newline=fields.get("final_newline", bool, "true or false", True),
        )


def _first_line(text: str, quote: str) -> str:
    """The first line terminator outside quotes (``"\\r\\n"`` when there is none)."""
    quoted = False
    for i, char in enumerate(text):
        if char == quote:
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            return "\r\n" if text.startswith("\r\n", i) else char
    return "\r\n"


def _started(row: list[str], ended: int) -> int:
    """The line a row started on, from the line it ended on and the line breaks inside its fields."""
    return ended - sum(v.count("\n") + v.count("\r") - v.count("\r\n") for v in row)
