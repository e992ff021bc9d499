"""X12 interchanges: separators from the ISA, envelopes checked, loops nested, every sample back byte for byte."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from splice.errors import FileInvalid
from splice.files import X12, file_definition

SAMPLES = Path(__file__).parent / "samples"
EDI = sorted(p.name for p in SAMPLES.glob("*.edi"))


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


@pytest.mark.parametrize("name", EDI)
def test_every_sample_round_trips_byte_for_byte(name: str) -> None:
    data = sample(name)
    for x12 in (X12(), X12(loops=False), file_definition({"format": "x12"})):
        assert x12.generate(x12.parse(data)) == data
        assert b"".join(x12.iter_generate(x12.iter_parse(io.BytesIO(data)))) == data


def test_interchanges_with_different_separators_follow_each_other() -> None:
    data = sample("810_invoice.edi") + sample("850_unusual_separators.edi") + sample("856_ship_notice.edi")
    records = X12().parse(data)
    assert [r["separators"]["element"] for r in records] == ["*", "|", "*"]
    assert X12().generate(records) == data


def test_purchase_orders_keep_their_groups_and_nest_po1_and_n1_loops() -> None:
    records = X12().parse(sample("850_purchase_orders.edi"))
    assert [(r["gs"][5], r["st"][1]) for r in records] == [("101", "0001"), ("101", "0002"), ("102", "0003")]
    first = records[0]
    assert first["isa"][12] == "000000101" and first["isa"][5] == "ACMESUPPLY     "
    assert first["separators"] == {"element": "*", "repetition": "^", "component": ">", "segment": "~", "suffix": "\n"}
    body = first["segments"]
    assert body[0] == ["BEG", "00", "SA", "PO-1001", "", "20240105"]
    loops = [item["loop"] for item in body if isinstance(item, dict)]
    assert loops == ["N1", "N1", "PO1", "PO1", "PO1", "CTT"]
    second_line = [item for item in body if isinstance(item, dict) and item["loop"] == "PO1"][1]
    assert second_line["segments"][0] == ["PO1", "2", "10", "EA", "2.50", "PE", "VP", "PAD-A4"]
    assert second_line["segments"][2] == {"loop": "N1", "segments": [["N1", "ST", "Store 12", "92", "S012"],
                                                                      ["N4", "Peoria", "IL", "61602"]]}  # fmt: skip
    assert body[-1]["segments"][1] == ["AMT", "TT", "194.95"]


def test_an_invoice_without_repetition_separator_or_line_breaks() -> None:
    (invoice,) = X12().parse(sample("810_invoice.edi"))
    assert invoice["separators"]["repetition"] is None and invoice["separators"]["suffix"] == ""
    assert invoice["isa"][10] == "U" and invoice["st"] == ["810", "0001"]
    items = [item for item in invoice["segments"] if isinstance(item, dict) and item["loop"] == "IT1"]
    assert [loop["segments"][1][5] for loop in items] == ["Black pen", "Note pad A4", "Desk chair"]
    assert ["TDS", "19495"] in invoice["segments"]


def test_a_ship_notice_nests_hl_loops_by_parent() -> None:
    (asn,) = X12().parse(sample("856_ship_notice.edi"))
    assert asn["separators"]["suffix"] == "\r\n"
    shipment = asn["segments"][2]
    assert (shipment["loop"], shipment["level"], shipment["segments"][0]) == ("HL", "shipment", ["HL", "1", "", "S"])
    orders = [item for item in shipment["segments"] if isinstance(item, dict)]
    assert [o["level"] for o in orders] == ["order", "order"]
    assert [[i["segments"][1][3] for i in o["segments"] if isinstance(i, dict)] for o in orders] == [
        ["PEN-BLK", "PAD-A4"], ["INK-RED"],
    ]  # fmt: skip
    assert asn["segments"][-1] == ["CTT", "6"]


def test_an_acknowledgment_nests_ak3_inside_ak2() -> None:
    (ack,) = X12().parse(sample("997_acknowledgment.edi"))
    second = ack["segments"][2]
    assert second["loop"] == "AK2" and second["segments"][1]["loop"] == "AK3"
    assert second["segments"][1]["segments"][1] == ["AK4", "2", "330", "1", "X"]
    assert second["segments"][2] == ["AK5", "R", "5"]


def test_composites_are_lists_and_repetitions_stay_whole() -> None:
    (claim,) = X12().parse(sample("837_composites.edi"))
    assert claim["st"] == ["837", "0001", "005010X222A1"]
    assert claim["segments"][2][5] == ["11", "B", "1"]
    assert claim["segments"][3] == ["HI", "ABK>J449^ABF>E119"]
    assert claim["segments"][4][1] == ["HC", "99213", "25"] and claim["segments"][4][7] == ["1", "2"]


def test_unusual_separators() -> None:
    (order,) = X12().parse(sample("850_unusual_separators.edi"))
    assert order["separators"] == {"element": "|", "repetition": "!", "component": "^", "segment": "'", "suffix": ""}
    assert order["segments"][1] == ["REF", "ZZ", ["A", "B", "C"]]


def test_a_final_line_break_that_is_missing_is_accepted() -> None:
    data = sample("997_acknowledgment.edi")
    assert X12().parse(data.rstrip(b"\n")) == X12().parse(data)


def _broken(name: str, old: bytes, new: bytes) -> bytes:
    data = sample(name)
    assert old in data
    return data.replace(old, new, 1)


@pytest.mark.parametrize(
    ("data", "segment", "segment_id", "match"),
    [(_broken("997_acknowledgment.edi", b"IEA*1*", b"IEA*2*"), 14, "IEA", "IEA01"),
     (_broken("997_acknowledgment.edi", b"IEA*1*000000401", b"IEA*1*000000402"), 14, "IEA", "IEA02"),
     (_broken("997_acknowledgment.edi", b"GE*1*401", b"GE*2*401"), 13, "GE", "GE01"),
     (_broken("997_acknowledgment.edi", b"GE*1*401", b"GE*1*400"), 13, "GE", "GE02"),
     (_broken("997_acknowledgment.edi", b"SE*10*0001", b"SE*9*0001"), 12, "SE", "SE01"),
     (_broken("997_acknowledgment.edi", b"SE*10*0001", b"SE*10*0002"), 12, "SE", "SE02"),
     (_broken("997_acknowledgment.edi", b"SE*10*0001~\n", b""), 12, "GE", "SE is missing"),
     (_broken("997_acknowledgment.edi", b"GE*1*401~\n", b""), 13, "IEA", "GE is missing"),
     (_broken("997_acknowledgment.edi", b"IEA*1*000000401~\n", b""), 14, "IEA", "ends before the IEA"),
     (_broken("997_acknowledgment.edi", b"GS*FA*BIGRETAIL*ACMESUPPLY*20240106*0800*401*X*005010~\n", b""), 2, "ST",
      "GS is missing"),
     (_broken("997_acknowledgment.edi", b"ST*997*0001~\n", b""), 3, "AK1", "before any ST"),
     (_broken("997_acknowledgment.edi", b"ACMESUPPLY     *", b"ACMESUPPLY*"), 1, "ISA", "ISA is 101 characters"),
     (_broken("997_acknowledgment.edi", b"AK1*PO*101~\n", b"AK1*PO*101~"), 4, "AK1", "line break"),
     (_broken("997_acknowledgment.edi", b"ISA", b"ISB"), 1, "ISB", "must start with ISA"),
     (_broken("856_ship_notice.edi", b"HL*5*1*O", b"HL*5*3*O"), 20, "HL", "HL02")],
)  # fmt: skip
def test_a_broken_envelope_names_the_segment_and_what_is_wrong(data: bytes, segment: int, segment_id: str,
                                                               match: str) -> None:  # fmt: skip
    with pytest.raises(FileInvalid, match=match) as caught:
        X12().parse(data)
    assert caught.value.code == "FILE_INVALID"
    assert caught.value.details == {"segment": segment, "segment_id": segment_id}


def test_a_group_with_no_transaction_set_is_refused() -> None:
    data = _broken(
        "997_acknowledgment.edi", b"GE*1*401~\n", b"GE*1*401~\nGS*FA*A*B*20240106*0800*402*X*005010~\nGE*0*402~\n"
    )
    with pytest.raises(FileInvalid, match="no transaction set"):
        X12().parse(data.replace(b"IEA*1*", b"IEA*2*"))


def _record(**changes: object) -> dict:
    (record,) = X12().parse(sample("997_acknowledgment.edi"))
    return {**record, **changes}


@pytest.mark.parametrize(
    ("record", "field"),
    [(_record(segments=[["AK1", "P*O"]]), "segments[0]"), (_record(segments=[["AK1", "P~O"]]), "segments"),
     (_record(segments=[["AK1", ["A", "B>C"]]]), "segments[0]"), (_record(segments=[["AK1", 5]]), "segments[0]"),
     (_record(segments=[[]]), "segments[0]"), (_record(segments=["AK1"]), "segments"),
     (_record(isa=["00"] * 16), "isa"), (_record(gs=["FA"]), "gs"), (_record(st="997"), "st"),
     (_record(separators={"element": "*"}), "separators")],
)  # fmt: skip
def test_generating_a_record_that_cannot_be_written_names_it(record: dict, field: str) -> None:
    good = _record()
    with pytest.raises(FileInvalid) as caught:
        X12().generate([good, record])
    assert caught.value.details == {"record": 1, "field": field}


def test_generated_envelopes_count_what_they_hold() -> None:
    record = _record(segments=[["AK1", "PO", "101"], {"loop": "AK2", "segments": [["AK2", "850", "7"], ["AK5", "A"]]}])
    out = X12().generate([record, {**record, "st": ["997", "0002"]}]).decode()
    assert "SE*5*0001~\n" in out and "SE*5*0002~\n" in out
    assert out.endswith("GE*2*401~\nIEA*1*000000401~\n")
    assert X12().generate(X12().parse(out.encode())) == out.encode()
