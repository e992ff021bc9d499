"""File definitions in exports and imports against the demo API: a CSV downloaded and parsed,
records generated into a CSV and uploaded — alone and streamed by a flow — and a file that does
not fit its definition as a page error naming its line."""

from __future__ import annotations

import pytest
from tests.resources.conftest import OpenOnDemo

from splice.demo._files import orders_csv
from splice.demo.server import DemoAPI
from splice.errors import InvalidInput, NotFound
from splice.runtime import Runtime

MODULE = """
from splice import Integration, auth, step
from splice.files import Column, FixedWidth
from splice.resources import Field, Mapping

acme = Integration("acme", base_url="{url}/api", auth=auth.ApiKey())

acme.file_definition("orders_csv", {{"format": "delimited"}})
acme.file_definition("strict_csv", {{"format": "delimited", "columns": ["id", "name"]}})
acme.file_definition("totals", FixedWidth(columns=(Column("id", 1, 8), Column("total", 9, 8, type="decimal",
                                                                                align="right"))))

acme.export("orders", path="/files/orders.csv?rows=20", file="orders_csv")
acme.export("mismatched", path="/files/orders.csv?rows=3", file="strict_csv")
acme.import_("upload", path="/files/copy.csv", file="orders_csv", batch_size=100,
             mapping=Mapping(fields=(Field(generate="id", extract="id"), Field(generate="customer", extract="customer"),
                                     Field(generate="total", extract="total"))))
acme.import_("upload_totals", path="/files/totals.txt", file="totals", batch_size=100)
acme.flow("copy", steps=[step.export("Pull", "orders", then=[step.import_("Push", "upload")])])
"""


@pytest.fixture
async def rt(open_on_demo: OpenOnDemo) -> Runtime:
    return await open_on_demo(MODULE)


async def test_an_export_parses_the_file_it_downloads(rt: Runtime) -> None:
    page = await rt.exports.run("acme.orders", connection="c1")
    assert len(page["data"]) == 20 and page["errors"] == [] and page["paged_export_state"] is None
    assert page["data"][6] == {"id": "SO-7", "customer": "Shop 7, Ltd", "total": "21.50"}


async def test_a_flow_copies_the_file_through_an_import_byte_for_byte(rt: Runtime, demo_api: DemoAPI) -> None:
    run = await rt.flows.run("acme.copy", connection="c1")
    assert run.status == "succeeded", run.error
    assert run.output == {"pages": 1, "records": 20, "errors": 0, "failed_records": 0}
    assert demo_api.files.files["copy.csv"] == orders_csv(20)


async def test_an_import_generates_fixed_width_with_exact_decimals(rt: Runtime, demo_api: DemoAPI) -> None:
    sent = await rt.imports.run("acme.upload_totals", [{"id": "A-1", "total": "12.50"}, {"id": "B-22", "total": "3"}],
                                connection="c1")  # fmt: skip
    assert [r["status_code"] for r in sent["results"]] == [200, 200]
    assert demo_api.files.files["totals.txt"] == b"A-1        12.50\nB-22           3\n"


async def test_a_file_that_does_not_fit_is_a_page_error_naming_its_line(rt: Runtime) -> None:
    page = await rt.exports.run("acme.mismatched", connection="c1")
    assert page["data"] == [] and len(page["errors"]) == 1
    error = page["errors"][0]
    assert error["code"] == "FILE_INVALID" and "line 1" in error["message"], error


async def test_a_record_that_cannot_be_written_fails_alone_with_its_field(rt: Runtime) -> None:
    sent = await rt.imports.run("acme.upload_totals", [{"id": "TOO-LONG-ID", "total": "1"}], connection="c1")
    [result] = sent["results"]
    assert result["errors"][0]["code"] == "FILE_INVALID" and "id" in result["errors"][0]["message"]


async def test_definitions_are_resources_and_bad_ones_name_their_field(rt: Runtime) -> None:
    made = await rt.file_definitions.create({"integration": "acme", "name": "edi", "format": "x12"})
    assert made["source"] == "api" and made["format"] == "x12"
    assert (await rt.file_definitions.get("acme.orders_csv"))["source"] == "code"
    with pytest.raises(InvalidInput, match="separator"):
        await rt.file_definitions.create({"integration": "acme", "name": "bad", "format": "delimited",
                                          "separator": ",,"})  # fmt: skip
    with pytest.raises(InvalidInput, match="format"):
        await rt.file_definitions.create({"integration": "acme", "name": "bad", "format": "xlsx"})
    doc = {"integration": "acme", "name": "lost", "path": "/files/orders.csv", "file": "nope"}
    await rt.exports.create(doc)
    with pytest.raises(NotFound, match=r"file definition 'acme\.nope' is neither declared nor stored"):
        await rt.exports.run("acme.lost", connection="c1")
    with pytest.raises(InvalidInput, match="reads one file, not pages"):
        await rt.exports.create({**doc, "name": "paged", "paging": {"method": "page"}})
