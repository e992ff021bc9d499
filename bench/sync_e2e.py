"""A sync of 100k ~1 KB records through 1,000 next-URL pages, end to end, vs raw aiohttp and dlt.

    .venv/bin/python bench/sync_e2e.py [--n 100000] [--page 100] [--rounds 2] [--modes ...]

The demo API runs in its own process with ``--contacts N`` (so ``/api/paged/big`` serves N
synthetic ~1 KB records, ``{"results": [...], "next": url|null}``). Modes:

* ``floor``      — a bare ``aiohttp`` loop: GET, ``orjson`` decode, follow ``next`` (nothing stored);
* ``in-process`` / ``child`` — ``runtime.run("bench.big")`` (``isolation="none"`` / ``"process"``): a
  sync doing ``ctx.api.paginate(..., NextUrl)`` + ``ctx.records.save(page)`` (pydantic-validated),
  timed from the call until the run record is stored; then, untimed, every record is read back
  through a second Runtime (pages of 10,000) and counted;
* ``dlt`` / ``dlt-nocompress`` / ``dlt-extract`` — dlt's ``rest_api`` source into duckdb: the default
  pipeline (``insert_values``, compressed), parquet (jsonl when pyarrow is missing) with compression
  off, and ``pipeline.extract`` only; counted with ``select count(*)``. Run once each (slow).

Floor and splice modes alternate over ``--rounds`` rounds; the best round of each is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import orjson
from _common import free_port, machine, parser, project, table

from splice.runtime import Runtime
from splice.store import Stream

KEY, GOAL = "demo-key", 0.5
SPLICE_MODES, DLT_MODES = ("in-process", "child"), ("dlt", "dlt-nocompress", "dlt-extract")

BENCH = """
from datetime import datetime

from pydantic import BaseModel

from splice import Integration, auth, paginate

bench = Integration("bench", base_url="{config.api_url}/api", auth=auth.ApiKey(in_="header", name="X-API-Key"))


class BigRecord(BaseModel):  # what /api/paged/big returns
    id: str
    index: int
    email: str
    name: str
    updated_at: datetime
    bio: str


@bench.sync(models=[BigRecord], every="1h")
async def big(ctx):
    limit = ctx.config.get("page", 100)
    strategy = paginate.NextUrl(path="next", items_path="results")
    async for page in ctx.api.paginate("/paged/big", query={"limit": limit}, strategy=strategy):
        await ctx.records.save(page)


@bench.action
async def ping(ctx, input):  # warm-up: zygote, imports, the HTTP pool
    return len((await ctx.api.get("/paged/big", query={"limit": 1}))["results"])
"""


@contextlib.contextmanager
def big_server(n: int) -> Iterator[str]:
    """``python -m splice.demo.server --contacts N`` in its own process; yields its URL."""
    cmd = [sys.executable, "-m", "splice.demo.server", "--port", str(free_port()), "--contacts", str(n)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"demo server did not start (got {url!r}, exit {proc.poll()})")
        yield url
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        proc.kill()  # no-op once it has exited
        proc.wait()


async def floor(url: str, page: int) -> int:
    count, next_url = 0, f"{url}/api/paged/big?limit={page}"
    async with aiohttp.ClientSession(headers={"X-API-Key": KEY}) as session:
        while next_url:
            async with session.get(next_url) as response:
                response.raise_for_status()
                body = orjson.loads(await response.read())
            count += len(body["results"])
            next_url = body["next"]
    return count


async def read_back(rt: Runtime, conn: str) -> int:
    """Every record of the stream, read by cursor pages of 10,000 (what a consumer would do)."""
    stream, total, cursor = Stream("bench", conn, "BigRecord"), 0, None
    while True:
        page = await rt.store.records.read(stream, cursor=cursor, limit=10_000)
        total += len(page.records)
        if page.next_cursor is None:
            return total
        cursor = page.next_cursor


def dlt_run(url: str, page: int, tmp: Path, mode: str) -> int:
    import dlt
    from dlt.sources.rest_api import rest_api_source

    auth = {"type": "api_key", "name": "X-API-Key", "api_key": KEY, "location": "header"}
    client = {"base_url": f"{url}/api/", "auth": auth, "paginator": {"type": "json_link", "next_url_path": "next"}}
    endpoint = {"path": "paged/big", "params": {"limit": page}, "data_selector": "results"}
    source = rest_api_source({"client": client, "resources": [{"name": "big", "endpoint": endpoint}]})  # type: ignore[typeddict-item]
    name = mode.replace("-", "_")
    destination = dlt.destinations.duckdb(str(tmp / f"{name}.duckdb"))
    pipeline = dlt.pipeline(name, pipelines_dir=str(tmp / "dlt"), destination=destination, dataset_name="bench")
    if mode == "dlt-extract":  # pages to dlt's local files only: no normalize, no load
        seen = [0]
        source.resources["big"].add_map(lambda item: seen.__setitem__(0, seen[0] + 1) or item)
        pipeline.extract(source)
        return seen[0]
    fmt = None
    if mode == "dlt-nocompress":
        os.environ["DATA_WRITER__DISABLE_COMPRESSION"] = "true"
        fmt = "parquet" if importlib.util.find_spec("pyarrow") else "jsonl"
    pipeline.run(source, loader_file_format=fmt)  # type: ignore[arg-type]
    os.environ.pop("DATA_WRITER__DISABLE_COMPRESSION", None)
    with pipeline.sql_client() as sql:
        return int(sql.execute_sql("select count(*) from big")[0][0])


async def splice_once(rt: Runtime, reader: Runtime, conn: str, n: int) -> tuple[float, str]:
    """One timed sync run; then, untimed, every record read back through another Runtime's store."""
    t0 = time.perf_counter()
    run = await rt.run("bench.big", connection=conn)
    elapsed = time.perf_counter() - t0
    if run.status != "succeeded":
        raise RuntimeError(f"{conn} run {run.status}: {run.error}")
    added = run.output["records"]["BigRecord"]["added"]
    t1, read = time.perf_counter(), await read_back(reader, conn)
    if not added == read == n:
        raise RuntimeError(f"{conn}: {added} records added, {read} read back, expected {n}")
    await reader.store.records.reset("bench", conn)  # keep the file small between runs
    return elapsed, f"read back {read:,} in {time.perf_counter() - t1:.2f} s"


async def main(n: int, page: int, rounds: int, modes: list[str]) -> None:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    if any(m in DLT_MODES for m in modes) and importlib.util.find_spec("dlt") is None:
        print('dlt is not installed: skipping the dlt rows (.venv/bin/pip install "dlt[duckdb]" to add them)')
        modes = [m for m in modes if m not in DLT_MODES]
    times: dict[str, list[float]] = {m: [] for m in modes}
    notes: dict[str, str] = {}
    with big_server(n) as url, project({"bench.py": BENCH}) as root:
        rts = {m: await Runtime.open(root, isolation="none" if m == "in-process" else "process") for m in SPLICE_MODES}
        reader = await Runtime.open(root, isolation="none")
        try:
            for m in SPLICE_MODES:  # warm-up: zygote, imports, connection pool
                await rts[m].connections.add("bench", f"warm-{m}", {"api_key": KEY}, config={"api_url": url})
                assert (await rts[m].run("bench.ping", connection=f"warm-{m}", input={})).status == "succeeded"
            await floor(url, page)
            for r, m in [(r, m) for r in range(rounds) for m in modes if m not in DLT_MODES]:
                if m == "floor":
                    t0, got = time.perf_counter(), await floor(url, page)
                    times[m].append(time.perf_counter() - t0)
                    notes[m] = f"{got:,} records decoded"
                    continue
                cfg = {"api_url": url, "page": page}
                await rts[m].connections.add("bench", f"{m}-{r}", {"api_key": KEY}, config=cfg)
                elapsed, notes[m] = await splice_once(rts[m], reader, f"{m}-{r}", n)
                times[m].append(elapsed)
        finally:
            for rt in (*rts.values(), reader):
                await rt.close()
        with tempfile.TemporaryDirectory(prefix="splice-bench-dlt-") as tmp:
            for m in [m for m in modes if m in DLT_MODES]:
                t0 = time.perf_counter()
                got = dlt_run(url, page, Path(tmp), m)
                times[m].append(time.perf_counter() - t0)
                notes[m] = f"{got:,} rows in duckdb" if m != "dlt-extract" else f"{got:,} items extracted"
    report(times, notes, n, page)


def report(times: dict[str, list[float]], notes: dict[str, str], n: int, page: int) -> None:
    base = n / min(times["floor"]) if times.get("floor") else None
    rows: list[list[object]] = []
    for mode, samples in times.items():
        rate = n / min(samples)
        ratio = f"{rate / base:.2f}" if base else "—"
        met = base is not None and rate >= GOAL * base and rate >= 50_000
        verdict = ("ok" if met else "MISSED") if mode in SPLICE_MODES else ""
        every = ", ".join(f"{n / s:,.0f}" for s in samples)
        rows.append([mode, min(samples), rate, ratio, every, verdict, notes.get(mode, "")])
    print(f"\n{n:,} records in pages of {page} from /api/paged/big — {machine()}")
    print(table(["mode", "best s", "records/s", "× floor", "every round, records/s", "goal", "check"], rows))
    print(f"goal: splice ≥ 50,000 records/s and ≥ {GOAL}× the floor, end to end (run stored, records readable)")


if __name__ == "__main__":
    p = parser(__doc__.splitlines()[0], n=100_000)
    p.add_argument("--page", type=int, default=100, help="records per page (default 100)")
    p.add_argument("--rounds", type=int, default=2, help="rounds of floor + splice modes (default 2)")
    p.add_argument("--modes", default="floor,in-process,child,dlt,dlt-nocompress,dlt-extract")
    args = p.parse_args()
    asyncio.run(main(args.n, args.page, args.rounds, [m.strip() for m in args.modes.split(",")]))
