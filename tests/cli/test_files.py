"""``splice files``: the real console script parses and generates files with a project's file
definitions (or a definition document), round trip exact, and names the line a bad file breaks at."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ProjectFactory

from ._cli import assert_error, splice

SAMPLES = Path(__file__).parent.parent / "files" / "samples"
SOURCE = """
from splice import Integration

acme = Integration("acme", base_url="http://127.0.0.1:9")
acme.file_definition("orders", {"format": "delimited"})
acme.file_definition("edi", {"format": "x12"})
"""


def test_parse_then_generate_gives_the_file_back(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"acme.py": SOURCE})
    listed = splice("files", "list", cwd=root)
    assert listed.code == 0 and "acme.orders" in listed.stdout and "x12" in listed.stdout, listed
    for definition, sample in (("acme.edi", "850_purchase_orders.edi"), ("acme.orders", "quotes_newlines.csv")):
        parsed = splice("files", "parse", definition, str(SAMPLES / sample), cwd=root)
        assert parsed.code == 0, parsed
        records = [json.loads(line) for line in parsed.stdout.splitlines()]
        assert records and f"{len(records):,} records" in parsed.stderr
        jsonl = tmp_path / f"{sample}.jsonl"
        jsonl.write_text(parsed.stdout)
        out = tmp_path / sample
        made = splice("files", "generate", definition, str(jsonl), "-o", str(out), cwd=root)
        assert made.code == 0, made
        assert out.read_bytes() == (SAMPLES / sample).read_bytes()


def test_a_definition_document_needs_no_project(tmp_path: Path) -> None:
    (tmp_path / "tsv.json").write_text('{"format": "delimited", "separator": "\\t", "line_terminator": "\\n"}')
    (tmp_path / "a.tsv").write_bytes(b"id\tname\n1\tAnn\n")
    parsed = splice("files", "parse", "tsv.json", "a.tsv", cwd=tmp_path)
    assert parsed.code == 0 and json.loads(parsed.stdout) == {"id": "1", "name": "Ann"}, parsed


def test_a_file_that_does_not_fit_names_its_line(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"acme.py": SOURCE})
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id,name\r\n1,Ann\r\n2\r\n")
    assert_error(splice("files", "parse", "acme.orders", str(bad), cwd=root), "line 3", hint=None, only=False)
    broken = tmp_path / "broken.edi"
    broken.write_bytes((SAMPLES / "997_acknowledgment.edi").read_bytes().replace(b"IEA*1*", b"IEA*2*"))
    assert_error(splice("files", "parse", "acme.edi", str(broken), cwd=root), "IEA", hint=None, only=False)
    assert_error(splice("files", "parse", "acme.nope", str(bad), cwd=root), "file definition 'acme.nope' not found")
