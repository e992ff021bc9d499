"""``splice exports|imports`` and ``splice runs errors|retry-errors``: the real console script on a
project whose crm export and erp import talk to a small aiohttp server started by the test."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from tests.conftest import ProjectFactory

from splice.runtime import Runtime

from ._cli import Result, asplice, assert_error

MODULE = """
from splice import Integration
from splice.resources import Field, Mapping, Paging

crm = Integration("crm", base_url="{url}")
erp = Integration("erp", base_url="{url}")

crm.export("items", path="/items", query={{"page": "{{{{ paging.page }}}}", "size": "{{{{ export.page_size }}}}"}},
           records_path="items", page_size=10, paging=Paging(method="page", start=1))
erp.import_("contacts", path="/contacts", response_id_path="id",
            mapping=Mapping(fields=(Field(generate="email", extract="$lowercase(email)"),
                                    Field(generate="ref", extract="id"))))
"""
ITEMS = [{"id": f"i{n}", "n": n} for n in range(25)]
RECORDS = [{"id": "a", "email": "Ann@X.com"}, {"id": "b", "email": "bad@x.com"}, {"id": "c", "email": "C@X.com"}]
_SHORT_RUN = re.compile(r"\(run ([0-9a-f]{8})\)")
_ERROR_ID = re.compile(r"\b(err_[0-9a-f]+) \((\w+)\)")


@dataclass
class Setup:
    root: Path
    hits: Counter[str]
    received: list[Any]

    async def splice(self, *args: str) -> Result:
        return await asplice(*args, cwd=self.root)

    async def ok(self, *args: str) -> Result:
        result = await self.splice(*args)
        assert result.code == 0, result
        assert "Traceback" not in result.stderr, result
        return result


@pytest.fixture
async def setup(make_project: ProjectFactory) -> AsyncIterator[Setup]:
    hits: Counter[str] = Counter()
    received: list[Any] = []

    async def items(request: web.Request) -> web.Response:
        hits[request.path] += 1
        page, size = int(request.query["page"]), int(request.query["size"])
        return web.json_response({"items": ITEMS[(page - 1) * size : page * size]})

    async def contacts(request: web.Request) -> web.Response:
        hits[request.path] += 1
        body = await request.json()
        if body["email"].startswith("bad"):
            return web.json_response({"error": "email refused"}, status=422)
        received.append(body)
        return web.json_response({"id": f"erp-{len(received)}"}, status=201)

    app = web.Application()
    app.add_routes([web.get("/items", items), web.post("/contacts", contacts)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        root = make_project({"transfers.py": MODULE.format(url=f"http://127.0.0.1:{port}")})
        ready = Setup(root, hits, received)
        await ready.ok("connections", "add", "crm", "c1")
        await ready.ok("connections", "add", "erp", "c1")
        yield ready
    finally:
        await runner.cleanup()


def _page_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("page ")]


async def test_list_and_show(setup: Setup) -> None:
    listed = (await setup.ok("exports", "list")).stdout
    row = next(line for line in listed.splitlines() if "crm.items" in line)
    assert row.split() == ["crm.items", "code", "crm", "/items", "page"], listed
    documents = json.loads((await setup.ok("exports", "list", "--json")).stdout)
    assert [d["id"] for d in documents] == ["crm.items"]
    shown = json.loads((await setup.ok("exports", "show", "crm.items", "--json")).stdout)
    assert shown["page_size"] == 10 and shown["paging"]["method"] == "page" and shown["source"] == "code"
    assert "page_size       10" in (await setup.ok("exports", "show", "crm.items")).stdout

    imports = (await setup.ok("imports", "list")).stdout
    row = next(line for line in imports.splitlines() if "erp.contacts" in line)
    assert row.split() == ["erp.contacts", "code", "erp", "POST", "/contacts", "2", "fields"], imports
    shown = json.loads((await setup.ok("imports", "show", "erp.contacts", "--json")).stdout)
    assert [f["generate"] for f in shown["mapping"]["fields"]] == ["email", "ref"]
    assert setup.hits == Counter()  # listing and showing call nothing


async def test_an_export_runs_page_by_page(setup: Setup) -> None:
    result = await setup.ok("exports", "run", "crm.items", "-c", "c1")
    pages = _page_lines(result.stdout)
    assert [line.split(" (run ")[0] for line in pages] == [
        "page 0: 10 records, 0 errors", "page 1: 10 records, 0 errors", "page 2: 5 records, 0 errors",
    ], result  # fmt: skip
    assert len(set(_SHORT_RUN.findall(result.stdout))) == 3, result  # each page a run of its own
    assert "total: 25 records, 0 errors in 3 pages" in result.stdout, result
    assert setup.hits["/items"] == 3

    as_json = await setup.ok("exports", "run", "crm.items", "-c", "c1", "--json")
    assert [json.loads(line) for line in as_json.stdout.splitlines()] == ITEMS, as_json
    assert len(_page_lines(as_json.stderr)) == 3 and "total: 25 records" in as_json.stderr, as_json

    one = await setup.ok("exports", "run", "crm.items", "-c", "c1", "--pages", "1")
    assert len(_page_lines(one.stdout)) == 1, one
    assert "total: 10 records, 0 errors in 1 page (stopped after --pages 1; more pages remain)" in one.stdout, one
    assert setup.hits["/items"] == 3 + 3 + 1


@pytest.mark.parametrize("export", ["crm.items", "crm.stored"])
async def test_page_size_changes_the_pages_not_the_stored_export(setup: Setup, export: str) -> None:
    rt = await Runtime.open(setup.root)
    try:
        declared = await rt.exports.get("crm.items")
        made = await rt.exports.create({**declared, "name": "stored", "id": None, "source": None})
    finally:
        await rt.close()
    before = json.loads((await setup.ok("exports", "show", export, "--json")).stdout)
    result = await setup.ok("exports", "run", export, "-c", "c1", "--page-size", "5", "--json")
    assert [json.loads(line) for line in result.stdout.splitlines()] == ITEMS, result
    pages = _page_lines(result.stderr)
    assert len(pages) == 6 and pages[0].startswith("page 0: 5 records") and pages[5].startswith("page 5: 0 records")
    assert setup.hits["/items"] == 6
    after = json.loads((await setup.ok("exports", "show", export, "--json")).stdout)
    assert after == before and after["page_size"] == 10 and made["page_size"] == 10
    again = await setup.ok("exports", "run", export, "-c", "c1")
    assert len(_page_lines(again.stdout)) == 3, again


async def test_an_import_dry_run_sends_nothing(setup: Setup, tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    result = await setup.ok("imports", "run", "erp.contacts", "-c", "c1", "--file", str(records), "--dry-run", "--json")
    mapped = [json.loads(line) for line in result.stdout.splitlines()]
    assert [m["data"] for m in mapped] == [{"email": "ann@x.com", "ref": "a"}, {"email": "bad@x.com", "ref": "b"},
                                           {"email": "c@x.com", "ref": "c"}]  # fmt: skip
    assert "nothing was sent" in result.stderr, result
    table = await setup.ok("imports", "run", "erp.contacts", "-c", "c1", "-f", str(records), "--dry-run")
    assert '{"email":"ann@x.com","ref":"a"}' in table.stdout and "3 records mapped" in table.stdout, table
    assert setup.hits["/contacts"] == 0 and setup.received == []


async def test_a_failed_record_is_listed_and_retried_alone(setup: Setup, tmp_path: Path) -> None:
    records = tmp_path / "records.json"
    records.write_text(json.dumps(RECORDS, indent=2))
    result = await setup.splice("imports", "run", "erp.contacts", "-c", "c1", "--file", str(records), "--batch", "2")
    assert result.code == 1, result
    batches = [line for line in result.stdout.splitlines() if line.startswith("batch ")]
    assert [line.split(" (run ")[0] for line in batches] == ["batch 0: 1 ok, 1 failed, 0 ignored",
                                                             "batch 1: 1 ok, 0 failed, 0 ignored"], result  # fmt: skip
    failed_run = _SHORT_RUN.search(batches[0]).group(1)  # type: ignore[union-attr]
    error_id, stage = _ERROR_ID.search(result.stdout).groups()  # type: ignore[union-attr]
    assert stage == "submit" and "total: 3 records in 2 batches, 1 failed" in result.stdout, result
    assert setup.hits["/contacts"] == 3 and [r["ref"] for r in setup.received] == ["a", "c"]

    listed = await setup.ok("runs", "errors", failed_run)
    row = next(line for line in listed.stdout.splitlines() if error_id in line)
    assert row.split()[:2] == [error_id, "submit"] and row.split()[-1] == "open", listed
    errors = json.loads((await setup.ok("runs", "errors", failed_run, "--json")).stdout)
    assert [e["id"] for e in errors] == [error_id]
    fixed = {**errors[0]["retry_data"]["data"], "post_map_data": {"email": "b@x.com", "ref": "b"}}
    edits = tmp_path / "edits.json"
    edits.write_text(json.dumps({error_id: fixed}))

    retried = await setup.ok("runs", "retry-errors", failed_run, "--data-file", str(edits))
    assert re.search(r"^retry: 1 ok, 0 failed, 0 ignored \(run [0-9a-f]{8}\)$", retried.stdout, re.M), retried
    assert setup.hits["/contacts"] == 4 and setup.received[-1] == {"email": "b@x.com", "ref": "b"}
    assert "retried" in (await setup.ok("runs", "errors", failed_run, "--status", "retried")).stdout
    nothing = await setup.ok("runs", "errors", failed_run, "--status", "open")
    assert "no record errors in run" in nothing.stdout, nothing
    done = await setup.ok("runs", "retry-errors", failed_run)
    assert "nothing to retry" in done.stdout and setup.hits["/contacts"] == 4, done


async def test_a_record_that_fails_again_exits_1(setup: Setup, tmp_path: Path) -> None:
    records = tmp_path / "records.json"
    records.write_text(json.dumps(RECORDS[1:2]))
    result = await setup.splice("imports", "run", "erp.contacts", "-c", "c1", "-f", str(records), "--json")
    assert result.code == 1, result
    (line,) = result.stdout.splitlines()
    sent = json.loads(line)
    assert sent["status_code"] == 422 and sent["error_id"].startswith("err_"), result
    again = await setup.splice("runs", "retry-errors", sent["run_id"][-8:], "--id", sent["error_id"])
    assert again.code == 1 and "retry: 0 ok, 1 failed, 0 ignored" in again.stdout, again
    assert setup.hits["/contacts"] == 2
    retry_run, new_id = _SHORT_RUN.search(again.stdout).group(1), _ERROR_ID.search(again.stdout).group(1)  # type: ignore[union-attr]
    assert new_id != sent["error_id"] and f"runs retry-errors {retry_run}" in again.stderr, again
    original = json.loads((await setup.ok("runs", "errors", sent["run_id"], "--json")).stdout)
    assert [(e["id"], e["status"]) for e in original] == [(sent["error_id"], "failed_again")]
    assert new_id in (await setup.ok("runs", "errors", retry_run, "--status", "open")).stdout


async def test_bad_input_is_one_clear_error(setup: Setup, tmp_path: Path) -> None:
    for command in ("show", "run"):
        result = await setup.splice("exports", command, "crm.nope", *(["-c", "c1"] if command == "run" else []))
        assert_error(result, "export 'crm.nope' not found", hint="`splice exports list` lists them")
    result = await setup.splice("imports", "show", "erp.nope")
    assert_error(result, "import 'erp.nope' not found", hint="`splice imports list` lists them")

    broken = tmp_path / "records.json"
    broken.write_text('[\n  {"id": "a"},\n  {"id": b}\n]\n')
    result = await setup.splice("imports", "run", "erp.contacts", "-c", "c1", "--file", str(broken))
    assert_error(result, str(broken), "line 3", "is not JSON", hint="JSON Lines")
    lines = tmp_path / "records.jsonl"
    lines.write_text('{"id": "a"}\n{"id": "b"\n')
    result = await setup.splice("imports", "run", "erp.contacts", "-c", "c1", "--file", str(lines), "--dry-run")
    assert_error(result, str(lines), "line 2", "is not JSON")
    one = tmp_path / "one.json"
    one.write_text('{"id": "a"}')
    result = await setup.splice("imports", "run", "erp.contacts", "-c", "c1", "--file", str(one))
    assert_error(result, str(one), "not a list of records")

    result = await setup.splice("imports", "run", "erp.contacts", "-c", "c1", "--file", str(one), "--batch", "0")
    assert_error(result, "--batch must be from 1 to 10,000, not 0", hint="at most 10,000 records", code=2)
    assert setup.hits == Counter()
