"""Throughput of the file definitions on ~100 MB of delimited and of X12 data, against the standard library.

The floor for delimited files is a bare ``csv.reader`` over the same text (lists, no dicts, no
checks); the goal is at least 0.5x its speed for ``Delimited.iter_parse``. For X12 the floor is
our own tokenizer alone (segments split into elements, no envelopes or loops); the goal is at
least 20 MB/s for it. Files are written to a temp dir and read back as streams. Run::

    .venv/bin/python bench/files.py            # --mb 100
"""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from _common import machine, parser, table

from splice.files import X12, Delimited
from splice.files._x12 import Tokens

CSV_ROW = '{i},"Smith, Ann",ann{i}@example.com,2024-01-05,{i}.99,a note of some length for the row,PAD\r\n'
X12_ST = [
    "ST*850*{n:04d}", "BEG*00*SA*PO-{n}**20240105", "REF*DP*038", "DTM*002*20240120",
    "N1*ST*Big Retail DC 7*92*DC07", "N3*900 Depot Rd", "N4*Joliet*IL*60431",
    "PO1*1*5*EA*9.99*PE*VP*PEN-BLK", "PID*F****Black pen", "PO1*2*10*EA*2.50*PE*VP*PAD-A4",
    "PID*F****Note pad A4", "CTT*2", "SE*13*{n:04d}",
]  # fmt: skip
ISA = "ISA*00*          *00*          *ZZ*ACMESUPPLY     *ZZ*BIGRETAIL      *240105*1200*^*00501*000000001*0*P*>"


def write_csv(path: Path, mb: int) -> int:
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("id,name,email,date,amount,note,pad\r\n")
        while out.tell() < mb * 1_000_000:
            out.write("".join(CSV_ROW.format(i=rows + i) for i in range(10_000)))
            rows += 10_000
    return rows


def write_x12(path: Path, mb: int) -> int:
    sets = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(f"{ISA}~\nGS*PO*ACMESUPPLY*BIGRETAIL*20240105*1200*1*X*005010~\n")
        while out.tell() < mb * 1_000_000:
            out.write("".join(seg.format(n=sets + i) + "~\n" for i in range(5_000) for seg in X12_ST))
            sets += 5_000
        out.write(f"GE*{sets}*1~\nIEA*1*000000001~\n")
    return sets


def timed(work: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def bare_csv(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as text:
        return sum(1 for _ in csv.reader(text))


def count(records: object) -> int:
    return sum(1 for _ in records)  # type: ignore[attr-defined]


def main() -> None:
    args = parser(__doc__.splitlines()[0], 1)
    args.add_argument("--mb", type=int, default=100, help="megabytes of each kind of file (default 100)")
    mb = args.parse_args().mb
    with tempfile.TemporaryDirectory(prefix="splice-bench-") as tmp:
        _delimited(Path(tmp) / "big.csv", mb)
        _x12(Path(tmp) / "big.edi", mb)
    print(machine())


def _delimited(path: Path, mb: int) -> None:
    write_csv(path, mb)
    size = path.stat().st_size / 1e6
    definition = Delimited()
    floor, n = timed(lambda: bare_csv(path))
    with path.open("rb") as stream:
        took, parsed = timed(lambda: count(definition.iter_parse(stream)))
    with path.open("rb") as stream:
        sample = list(itertools.islice(definition.iter_parse(stream), 10_000))
    gen, _ = timed(lambda: sum(len(c) for c in definition.iter_generate(_cycle(sample, parsed))))
    floor_gen, _ = timed(lambda: _bare_write(_cycle(sample, parsed)))
    print(f"delimited: {size:,.0f} MB, {parsed:,} records")
    print(table(["what", "records/s", "MB/s", "x csv"], [
        ["csv.reader (floor)", n / floor, size / floor, 1.0],
        ["Delimited.iter_parse", parsed / took, size / took, floor / took],
        ["csv.writer (floor)", parsed / floor_gen, size / floor_gen, 1.0],
        ["Delimited.iter_generate", parsed / gen, size / gen, floor_gen / gen],
    ]))  # fmt: skip
    print()


def _cycle(sample: list[dict], n: int) -> Iterator[dict]:
    """``n`` records from ``sample`` over and over, so generating ~100 MB never holds them all."""
    return itertools.islice(itertools.cycle(sample), n)


def _bare_write(records: Iterable[dict]) -> int:
    out = io.StringIO()
    writer = csv.writer(out)
    total = 0
    for row in records:
        writer.writerow(list(row.values()))
        if out.tell() > 1 << 20:
            total += len(out.getvalue().encode())
            out.seek(0)
            out.truncate()
    return total + len(out.getvalue().encode())


def _x12(path: Path, mb: int) -> None:
    sets = write_x12(path, mb)
    size = path.stat().st_size / 1e6
    with path.open("rb") as stream:
        tokens, segments = timed(lambda: count(Tokens(stream)))
    definition = X12()
    with path.open("rb") as stream:
        took, parsed = timed(lambda: count(definition.iter_parse(stream)))
    with path.open("rb") as stream:
        sample = list(itertools.islice(definition.iter_parse(stream), 1_000))
    gen, _ = timed(lambda: sum(len(c) for c in definition.iter_generate(_cycle(sample, parsed))))
    assert parsed == sets
    print(f"X12: {size:,.0f} MB, {segments:,} segments, {sets:,} transaction sets")
    print(table(["what", "records/s", "MB/s", "x tokenizer"], [
        ["Tokens (tokenizer alone)", segments / tokens, size / tokens, 1.0],
        ["X12.iter_parse", parsed / took, size / took, tokens / took],
        ["X12.iter_generate", parsed / gen, size / gen, tokens / gen],
    ]))  # fmt: skip
    print("(records/s: segments/s for the tokenizer, transaction sets/s otherwise)")
    print()


if __name__ == "__main__":
    main()
