"""Delimited files: the sample corpus round-trips byte for byte, values come out right, bad input is named."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from splice.errors import FileInvalid, InvalidInput
from splice.files import Delimited, file_definition

SAMPLES = Path(__file__).parent / "samples"
CORPUS = {
    "quotes_newlines.csv": {},
    "bom_lf_no_final_newline.csv": {},
    "orders.tsv": {"separator": "\t"},
    "latin1_semicolon.csv": {"separator": ";", "encoding": "latin-1"},
    "quote_all.csv": {},
    "no_header.csv": {"header": False},
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_sample_round_trips_byte_for_byte(name: str) -> None:
    data = (SAMPLES / name).read_bytes()
    definition = Delimited.detect(data, **CORPUS[name])
    assert definition.generate(definition.parse(data)) == data
    assert b"".join(definition.iter_generate(definition.iter_parse(io.BytesIO(data)))) == data
    again = file_definition(definition.to_document())
    assert again == definition and again.generate(again.parse(data)) == data


def test_quotes_line_breaks_and_empty_fields_come_out_as_written() -> None:
    data = (SAMPLES / "quotes_newlines.csv").read_bytes()
    definition = Delimited.detect(data)
    assert (definition.line_terminator, definition.bom, definition.final_newline) == ("\r\n", False, True)
    assert definition.parse(data) == [
        {"id": "1", "name": "Smith, Ann", "note": 'said "hi"', "amount": "12.50"},
        {"id": "2", "name": "Bob", "note": "two\r\nlines", "amount": ""},
        {"id": "3", "name": "", "note": "", "amount": "0"},
        {"id": "4", "name": "Zoë", "note": "multi\nline with €", "amount": "7"},
    ]


def test_a_bom_lf_and_no_final_newline_are_detected_and_kept() -> None:
    data = (SAMPLES / "bom_lf_no_final_newline.csv").read_bytes()
    definition = Delimited.detect(data)
    assert (definition.bom, definition.line_terminator, definition.final_newline) == (True, "\n", False)
    rows = definition.parse(data)
    assert rows == [{"sku": "PEN", "qty": "5"}, {"sku": "PAD", "qty": "10"}, {"sku": "INK", "qty": ""}]
    assert Delimited().parse(data)[0] == {"sku": "PEN", "qty": "5"}  # the BOM is skipped even when not declared


def test_tsv_latin_1_quote_all_and_no_header() -> None:
    tsv = Delimited(separator="\t", line_terminator="\n").parse((SAMPLES / "orders.tsv").read_bytes())
    assert tsv[1] == {"order": "1002", "customer": "Tab\there", "total": "5.00"}
    latin = Delimited(separator=";", encoding="latin-1").parse((SAMPLES / "latin1_semicolon.csv").read_bytes())
    assert [r["ville"] for r in latin] == ["Montréal", "Zürich", "São Paulo"]
    assert Delimited.detect((SAMPLES / "quote_all.csv").read_bytes()).quoting == "all"
    rows = Delimited(header=False).parse((SAMPLES / "no_header.csv").read_bytes())
    assert rows == [{"1": "a", "2": "1"}, {"1": "b", "2": "2", "3": "extra"}, {"1": "c"}]


def test_generating_names_the_header_from_the_first_record_and_quotes_what_needs_it() -> None:
    out = Delimited(line_terminator="\n").generate([{"a": 1, "b": None}, {"a": "x,y", "b": 'q"r'}, {"b": "s\rt"}])
    assert out == b'a,b\n1,\nx,y,"q""r"\n,"s\rt"\n'.replace(b"x,y,", b'"x,y",')
    assert Delimited(columns=("a", "b")).generate([]) == b"a,b\r\n"
    assert Delimited(header=False).generate([{"1": "a", "2": "b"}, {"1": "c"}]) == b"a,b\r\nc\r\n"


@pytest.mark.parametrize(
    ("data", "line", "column"),
    [(b"a,b\r\n1,2\r\n3\r\n", 3, 2), (b"a,b\r\n1,2,3\r\n", 2, 3), (b"a,b\r\n\r\n", 2, 1),
     (b'a,b\r\n"1\r\n2",x\r\n3', 4, 2), (b'a,b\r\n"unclosed,2\r\n', 2, None), (b'a,a\r\n', 1, 2),
     (b'a,b\r\n"x"y,1\r\n', 2, None)],
)  # fmt: skip
def test_a_bad_row_is_named_by_its_line(data: bytes, line: int, column: int | None) -> None:
    with pytest.raises(FileInvalid) as caught:
        Delimited().parse(data)
    assert caught.value.code == "FILE_INVALID"
    assert caught.value.details["line"] == line
    if column is not None:
        assert caught.value.details["column"] == column


def test_text_that_is_not_the_encoding_is_named() -> None:
    with pytest.raises(FileInvalid, match="not utf-8"):
        Delimited().parse("a\r\nZürich\r\n".encode("latin-1"))
    with pytest.raises(FileInvalid) as caught:
        Delimited(encoding="latin-1").generate([{"name": "ok"}, {"name": "€"}])
    assert caught.value.details == {"record": 1, "field": "name"}


def test_a_record_with_a_key_outside_the_header_is_refused() -> None:
    with pytest.raises(FileInvalid) as caught:
        Delimited().generate([{"a": 1}, {"a": 2, "b": 3}])
    assert caught.value.details == {"record": 1, "field": "b"}


def test_the_header_must_match_declared_columns() -> None:
    with pytest.raises(FileInvalid) as caught:
        Delimited(columns=("id", "name")).parse(b"id,nom\r\n1,x\r\n")
    assert caught.value.details == {"line": 1, "column": 2}


@pytest.mark.parametrize(
    ("doc", "field"),
    [({"format": "delimited", "separator": ",,"}, "separator"), ({"format": "delimited", "quote": ","}, "separator"),
     ({"format": "delimited", "header": 1}, "header"), ({"format": "delimited", "encoding": "klingon"}, "encoding"),
     ({"format": "delimited", "line_terminator": "\r\r"}, "line_terminator"),
     ({"format": "delimited", "quoting": "none"}, "quoting"),
     ({"format": "delimited", "columns": ["a", "a"]}, "columns"),
     ({"format": "delimited", "bom": True, "encoding": "latin-1"}, "bom"), ({"format": "csv"}, "format"),
     ({"separator": ","}, "format"), ({"format": "delimited", "delimiter": ";"}, "delimiter")],
)  # fmt: skip
def test_a_bad_definition_names_its_field(doc: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        file_definition(doc)
    assert caught.value.code == "INVALID_RESOURCE" and caught.value.details["field"] == field
    assert not isinstance(caught.value, FileInvalid)
