"""Fixed-width files: character columns (not bytes), types, padding, and errors naming line and column."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest

from splice.errors import FileInvalid, InvalidInput
from splice.files import Column, FixedWidth, file_definition

SAMPLES = Path(__file__).parent / "samples"
ORDERS = FixedWidth(
    columns=(
        Column("id", 1, 5, "integer", padding="0", align="right"),
        Column("name", 6, 12),
        Column("amount", 18, 9, "decimal", align="right", decimals=2),
        Column("qty", 28, 4, "decimal", padding="0", align="right", decimals=2, implied_decimal=True),
    ),
    line_terminator="\r\n",
)


def test_the_sample_round_trips_byte_for_byte_and_through_its_document() -> None:
    data = (SAMPLES / "orders_fixed.txt").read_bytes()
    assert ORDERS.generate(ORDERS.parse(data)) == data
    assert b"".join(ORDERS.iter_generate(ORDERS.iter_parse(io.BytesIO(data)))) == data
    again = file_definition(ORDERS.to_document())
    assert again == ORDERS


def test_columns_count_characters_and_values_are_typed() -> None:
    records = ORDERS.parse((SAMPLES / "orders_fixed.txt").read_bytes())
    assert records[0] == {"id": 42, "name": "Zoë Müller", "amount": Decimal("-12.50"), "qty": Decimal("12.50")}
    assert records[2] == {"id": -3, "name": "李小龍", "amount": Decimal("1234.56"), "qty": Decimal("0.99")}
    assert records[3] == {"id": 0, "name": "", "amount": None, "qty": Decimal("0.01")}


def test_generating_pads_by_alignment_and_keeps_the_sign_first() -> None:
    out = ORDERS.generate([{"id": -7, "name": "É", "amount": 3, "qty": "1.5"}, {}])
    assert out.decode() == "-0007É" + " " * 11 + "     3.00 0150\r\n" + "00000" + " " * 22 + "0000\r\n"
    no_final = FixedWidth(columns=[Column("a", 1, 2)], final_newline=False)
    assert no_final.generate([{"a": "x"}, {"a": "y"}]) == b"x \ny "
    assert no_final.parse(b"x \ny ") == [{"a": "x"}, {"a": "y"}]


def _line(id_: str = "00001", name: str = "Bob", amount: str = "1.00", qty: str = "0100") -> str:
    return id_ + name.ljust(12) + amount.rjust(9) + " " + qty


@pytest.mark.parametrize(
    ("line", "where"),
    [(_line()[:8], {"line": 2, "column": 9, "field": "name"}),
     (_line() + " ", {"line": 2, "column": 32, "field": "qty"}),
     (_line(id_="0004x"), {"line": 2, "column": 1, "field": "id"}),
     (_line(id_="00 04"), {"line": 2, "column": 1, "field": "id"}),
     (_line(amount="1,00"), {"line": 2, "column": 18, "field": "amount"}),
     (_line(qty="01.0"), {"line": 2, "column": 28, "field": "qty"})],
)  # fmt: skip
def test_a_bad_line_names_its_line_column_and_field(line: str, where: dict) -> None:
    with pytest.raises(FileInvalid) as caught:
        ORDERS.parse(f"{_line()}\r\n{line}\r\n".encode())
    assert caught.value.details == where


def test_a_line_with_another_terminator_is_named() -> None:
    with pytest.raises(FileInvalid, match="ends with") as caught:
        FixedWidth(columns=[Column("a", 1, 2)]).parse(b"ab\nab\r\n")
    assert caught.value.details == {"line": 2, "column": 3}


@pytest.mark.parametrize(
    ("record", "field"),
    [({"id": 123456}, "id"), ({"name": "x" * 13}, "name"), ({"amount": "1.005"}, "amount"), ({"id": 1.5}, "id"),
     ({"name": "two\nlines"}, "name"), ({"amount": "abc"}, "amount"), ({"qty": True}, "qty")],
)  # fmt: skip
def test_a_value_that_does_not_fit_names_the_record_and_field(record: dict, field: str) -> None:
    with pytest.raises(FileInvalid) as caught:
        ORDERS.generate([{"id": 1}, record])
    assert caught.value.details == {"record": 1, "field": field}


def test_a_value_the_encoding_cannot_write_is_named() -> None:
    with pytest.raises(FileInvalid) as caught:
        FixedWidth(columns=[Column("a", 1, 2), Column("b", 3, 2)], encoding="latin-1").generate([{"b": "€"}])
    assert caught.value.details == {"record": 0, "field": "b"}


@pytest.mark.parametrize(
    ("columns", "field"),
    [([], "columns"), ([{"name": "a", "start": 0, "length": 2}], "columns[0].start"),
     ([{"name": "a", "start": 1}], "columns[0].length"),
     ([{"name": "a", "start": 1, "length": "2"}], "columns[0].length"),
     ([{"name": "a", "start": 1, "length": 2, "type": "date"}], "columns[0].type"),
     ([{"name": "a", "start": 1, "length": 2, "align": "center"}], "columns[0].align"),
     ([{"name": "a", "start": 1, "length": 2, "padding": "  "}], "columns[0].padding"),
     ([{"name": "a", "start": 1, "length": 2, "decimals": 2}], "columns[0].decimals"),
     ([{"name": "a", "start": 1, "length": 2}, {"name": "b", "start": 2, "length": 2}], "columns[1].start"),
     ([{"name": "a", "start": 1, "length": 2}, {"name": "a", "start": 3, "length": 2}], "columns[1].name"),
     ([{"name": "a", "start": 1, "length": 2, "width": 2}], "columns[0].width"), ("a", "columns")],
)  # fmt: skip
def test_a_bad_definition_names_its_field(columns: object, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        file_definition({"format": "fixed_width", "columns": columns})
    assert caught.value.code == "INVALID_RESOURCE" and caught.value.details["field"] == field
