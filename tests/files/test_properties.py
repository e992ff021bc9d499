"""Property tests: for generated files of every format, generate(parse(x)) == x byte for byte."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from splice.files import X12, Column, Delimited, FixedWidth

# U+FEFF is left out: a UTF-8 file's first character, it is read as a byte order mark
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufeff"), max_size=12)
FIELDS = st.text(alphabet=st.sampled_from(list("ab ,;\t|\"'\r\n\\é€")), max_size=8) | TEXT


@st.composite
def delimited(draw: Any) -> tuple[Delimited, list[dict[str, str]]]:
    definition = Delimited(
        separator=draw(st.sampled_from([",", ";", "\t", "|"])),
        header=draw(st.booleans()),
        line_terminator=draw(st.sampled_from(["\r\n", "\n", "\r"])),
        bom=draw(st.booleans()),
        quoting=draw(st.sampled_from(["minimal", "all"])),
        final_newline=draw(st.booleans()),
    )
    names = draw(st.lists(FIELDS, min_size=1, max_size=5, unique=True))
    if not definition.header:
        names = [str(i) for i in range(1, len(names) + 1)]
    rows = draw(st.lists(st.lists(FIELDS, min_size=len(names), max_size=len(names)), max_size=6))
    return definition, [dict(zip(names, row, strict=True)) for row in rows]


@settings(max_examples=300, deadline=None)
@given(delimited())
def test_delimited_files_round_trip(case: tuple[Delimited, list[dict[str, str]]]) -> None:
    definition, records = case
    data = definition.generate(records)
    parsed = definition.parse(data)
    if records and definition.header:
        assert parsed == records
    assert definition.generate(parsed) == data
    detected = Delimited.detect(data, separator=definition.separator, header=definition.header)
    if records:
        assert detected.generate(detected.parse(data)) == data


@st.composite
def fixed_width(draw: Any) -> tuple[FixedWidth, list[dict[str, Any]]]:
    columns, start = [], 1
    for i in range(draw(st.integers(1, 5))):
        start += draw(st.integers(0, 2))
        length = draw(st.integers(1, 8))
        kind = draw(st.sampled_from(["string", "integer"]))
        padding = draw(st.sampled_from([" ", "0"] if kind == "integer" else [" ", "_", "."]))
        align = "right" if kind == "integer" else draw(st.sampled_from(["left", "right"]))
        columns.append(Column(f"c{i}", start, length, kind, padding=padding, align=align))
        start += length
    definition = FixedWidth(columns=columns, line_terminator=draw(st.sampled_from(["\n", "\r\n"])),
                            final_newline=draw(st.booleans()))  # fmt: skip
    records = draw(st.lists(st.fixed_dictionaries({c.name: _value(c) for c in columns}), max_size=6))
    return definition, records


def _value(column: Column) -> st.SearchStrategy[Any]:
    if column.type == "integer":
        low = -(10 ** (column.length - 1) - 1) if column.length > 1 else 0
        return st.integers(low, 10**column.length - 1)
    return st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85\ufeff"),
                   max_size=column.length)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(fixed_width())
def test_fixed_width_files_round_trip(case: tuple[FixedWidth, list[dict[str, Any]]]) -> None:
    definition, records = case
    data = definition.generate(records)
    assert definition.generate(definition.parse(data)) == data


ELEMENT = st.text(alphabet=st.sampled_from(list("ABCxyz019 .-/")), max_size=6)
SEGMENT_IDS = ["PO1", "N1", "N3", "PID", "IT1", "AK2", "AK3", "AK4", "AK5", "HL", "REF", "DTM", "CTT", "ZZZ"]


@st.composite
def x12(draw: Any) -> list[dict[str, Any]]:
    element, component, segment, repetition = draw(st.permutations(["*", "|", ">", "~", "^", "'", ":"]))[:4]
    suffix = draw(st.sampled_from(["", "\n", "\r\n"]))
    separators = {"element": element, "repetition": repetition if draw(st.booleans()) else None,
                  "component": component, "segment": segment, "suffix": suffix}  # fmt: skip
    records = []
    for interchange in range(draw(st.integers(1, 2))):
        isa = ["00", " " * 10, "00", " " * 10, "ZZ", "SENDER".ljust(15), "ZZ", "RECEIVER".ljust(15), "240105",
               "1200", separators["repetition"] or "U", "00501", f"{interchange + 1:09d}", "0", "P",
               component]  # fmt: skip
        for group in range(draw(st.integers(1, 2))):
            gs = ["PO", "S", "R", "20240105", "1200", str(group + 1), "X", "005010"]
            for number in range(draw(st.integers(1, 2))):
                kind = draw(st.sampled_from(["850", "810", "856", "997", "204"]))
                segments = [draw(_segment(kind, component)) for _ in range(draw(st.integers(0, 8)))]
                records.append({"isa": isa, "gs": gs, "separators": separators, "st": [kind, f"{number:04d}"],
                                "segments": segments})  # fmt: skip
    return records


@st.composite
def _segment(draw: Any, kind: str, component: str) -> list[Any]:
    name = draw(st.sampled_from([n for n in SEGMENT_IDS if kind == "856" or n != "HL"]))
    if name == "HL":
        return ["HL", draw(st.sampled_from(["1", "2"])), "", draw(st.sampled_from(["S", "O", "I"]))]
    elements = draw(st.lists(ELEMENT | st.lists(ELEMENT, min_size=2, max_size=3), max_size=5))
    return [name, *elements]


@settings(max_examples=300, deadline=None)
@given(x12())
def test_x12_interchanges_round_trip(records: list[dict[str, Any]]) -> None:
    data = X12(loops=False).generate(records)
    assert X12(loops=False).parse(data) == records
    for definition in (X12(), X12(loops=False)):
        assert definition.generate(definition.parse(data)) == data
