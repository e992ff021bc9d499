"""Reading a stream of ``--n`` records by cursor pages, first page against last, SQLite and PostgreSQL.

    .venv/bin/python bench/records_read.py [--n 1000000] [--page 1000] [--db both]

Fills one stream with ``--n`` records of ~1 KB (``store.records.save`` in batches of 10,000;
the fill rate is printed too), then reads all of it with ``store.records.read(cursor=...,
limit=--page)`` page after page, as an app catching up would, timing every page: each page
decrypts and parses its records and builds their ``_splice`` metadata. Keyset pagination
means the last page should cost what the first does. Two views of that:

* the full read's first ten and last ten pages (medians): on this VM the Python side of a
  page drifts by 10-25 % over a long run whatever the page (orjson alone does, decoding the
  same bytes again and again), so this view mixes depth with time;
* the first ten and last ten pages read again alternately, first, last, first, … from
  their cursors (``--repeat`` rounds): depth alone.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from _common import machine, parser, table
from records_ingest import make_record, pg_database

from splice.store import SecretBox, Store, open_store
from splice.store._records import Stream

STREAM = Stream("bench", "conn-read", "Contact")
FILL_BATCH = 10_000


async def fill(store: Store, n: int) -> float:
    """Records/s of the saves alone (building the records is not timed)."""
    spent = 0.0
    for start in range(0, n, FILL_BATCH):
        batch = [make_record(i) for i in range(start, min(n, start + FILL_BATCH))]
        t0 = time.perf_counter()
        await store.records.save(STREAM, batch, run_id="fill")
        spent += time.perf_counter() - t0
    return n / spent


async def read_all(store: Store, page_size: int, cursor: str | None = None) -> tuple[list[float], int, list[str]]:
    """Per-page seconds, records read, and the cursor after each page."""
    times: list[float] = []
    cursors: list[str] = []
    count = 0
    while True:
        t0 = time.perf_counter()
        page = await store.records.read(STREAM, cursor=cursor, limit=page_size)
        times.append(time.perf_counter() - t0)
        count += len(page.records)
        if page.next_cursor is None:
            return times, count, cursors
        cursor = page.next_cursor
        cursors.append(cursor)


async def interleaved(store: Store, page_size: int, cursors: list[str | None], repeat: int) -> tuple[float, float]:
    """Median ms of the first ten and the last ten full pages, read alternately."""
    first, last = cursors[:10], cursors[-11:-1]  # the very last page may be short
    times: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(repeat):
        for pair in zip(first, last, strict=True):
            for side, cursor in enumerate(pair):
                t0 = time.perf_counter()
                await store.records.read(STREAM, cursor=cursor, limit=page_size)
                times[side].append(time.perf_counter() - t0)
    return statistics.median(times[0]) * 1000, statistics.median(times[1]) * 1000


async def measure(kind: str, store: Store, n: int, page_size: int, repeat: int) -> list[object]:
    rate = await fill(store, n)
    print(f"{kind}: filled {n:,} records at {rate:,.0f} records/s")
    await read_all(store, page_size)  # warm the page cache once, as a steady reader would find it
    t0 = time.perf_counter()
    times, count, cursors = await read_all(store, page_size)
    total = time.perf_counter() - t0
    assert count == n, (count, n)
    full = times[:-1] if len(times) > 1 else times  # the last page may be short
    first, last = statistics.median(full[:10]) * 1000, statistics.median(full[-10:]) * 1000
    again_first, again_last = await interleaved(store, page_size, [None, *cursors], repeat)
    return [kind, count / total, first, last, again_first, again_last, again_last / again_first]


async def main() -> None:
    p = parser("records read by cursor pages", 1_000_000)
    p.add_argument("--page", type=int, default=1000)
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--repeat", type=int, default=5, help="rounds of the interleaved first/last reads")
    args = p.parse_args()
    print(machine())
    rows: list[list[object]] = []
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="splice-bench-") as tmp:
            store = await open_store(f"sqlite:///{Path(tmp) / 'bench.db'}", SecretBox.generate())
            try:
                rows.append(await measure("SQLite", store, args.n, args.page, args.repeat))
            finally:
                await store.close()
    if args.db in ("postgres", "both"):
        async with pg_database() as url:
            if url is not None:
                store = await open_store(url, SecretBox.generate())
                try:
                    rows.append(await measure("PostgreSQL", store, args.n, args.page, args.repeat))
                finally:
                    await store.close()
    print(f"\nfull read of {args.n:,} records by pages of {args.page:,}; page times in ms, median of 10 pages")
    headers = ["", "records/s", "first", "last", "first, alternating", "last, alternating", "last/first"]
    print(table(headers, rows))


if __name__ == "__main__":
    asyncio.run(main())
