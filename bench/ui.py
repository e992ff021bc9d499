"""The dashboard: how soon a log line reaches the browser, and the runs and records pages at scale.

    .venv/bin/python bench/ui.py [--n 20] [--runs 100000] [--records 1000000] [--lines 40]

In one process, as ``splice serve`` has them: a runtime over a new SQLite database and its app
under uvicorn on 127.0.0.1 (scripts in sandboxed child processes, the default).

* **log latency**: an action writes ``--lines`` lines 50 ms apart, each carrying the time it
  was written; a client signed in to the dashboard follows the run's server-sent events
  (``/ui/runs/{id}/events``), and each line's latency is when its event arrived minus when
  the script wrote it. Goal: p95 ≤ 1 s.
* **runs page**: ``--runs`` runs are inserted, then ``GET /ui/runs`` (the first page, HTML) is
  timed ``--n`` times against ``GET /runs`` (the REST API's equivalent list call, JSON).
* **records page**: ``--records`` records are saved in one stream, then ``GET /ui/records`` (a
  page, HTML) is timed against ``GET /records/{integration}/{model}``, at the first page and
  at a cursor deep in the stream. Goal for both pages: ≤ 200 ms of server time (measured over
  loopback, so it includes the HTTP round trip).
"""

from __future__ import annotations

import asyncio
import re
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from _common import machine, parser, table
from records_ingest import make_record

from splice.runtime import Runtime
from splice.server import ApiServer, create_app
from splice.store._records import Stream
from splice.store._schema import runs

PROJECT = """
import asyncio
import time

from pydantic import BaseModel

from splice import Integration

bench = Integration("bench", base_url="http://127.0.0.1:9")


class Contact(BaseModel):
    id: str


@bench.action
async def talk(ctx, input):
    await asyncio.sleep(1.0)  # the client connects meanwhile
    for i in range(input["lines"]):
        ctx.log.info(f"line {i} written at {time.time():.6f}")
        await asyncio.sleep(0.05)
    return {"lines": input["lines"]}


@bench.sync(models=[Contact], every="1d")
async def contacts(ctx):
    pass
"""
TOML = '[project]\nname = "bench-ui"\n\n[runtime]\ntime_limit = 600\n'
WRITTEN = re.compile(r"written at (\d+\.\d+)")
INSERT_BATCH = 10_000


async def sign_in(session: aiohttp.ClientSession, url: str, secret: str) -> None:
    async with session.get(f"{url}/ui/login") as response:
        csrf = re.search(r'name="csrf" value="([^"]+)"', await response.text())
    assert csrf, "no CSRF field on the sign-in page"
    async with session.post(f"{url}/ui/login", data={"csrf": csrf.group(1), "token": secret}) as response:
        assert "/ui/runs" in str(response.url), response.url


async def log_latency(rt: Runtime, session: aiohttp.ClientSession, url: str, lines: int) -> list[float]:
    """Seconds from ``ctx.log`` in the script to the line's event in the client, per line."""
    task = asyncio.create_task(rt.run("bench.talk", input={"lines": lines}))
    found: list[str] = []
    while not found:
        found = [r.id for r in await rt.runs.find(script="talk", status="running", limit=1)]
        await asyncio.sleep(0.02)
    latencies: list[float] = []
    async with session.get(f"{url}/ui/runs/{found[0]}/events", timeout=aiohttp.ClientTimeout(total=120)) as stream:
        event = ""
        async for raw in stream.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "log":
                now = time.time()
                latencies += [now - float(t) for t in WRITTEN.findall(line)]
            elif line.startswith("data:") and event == "done":
                break
    await task
    return latencies


async def insert_runs(rt: Runtime, n: int) -> None:
    start = datetime.now(UTC) - timedelta(days=30)
    statuses = ("succeeded", "succeeded", "succeeded", "failed")
    for first in range(0, n, INSERT_BATCH):
        rows = [
            {"id": f"run_{uuid.uuid4().hex}", "kind": "action", "integration": "bench", "script": "talk",
             "connection_id": f"c{i % 50}", "status": statuses[i % 4], "input": {"i": i}, "output": None,
             "error": None, "attempt": 1, "parent_id": None, "test_mode": False,
             "created_at": start + timedelta(seconds=i * 20), "started_at": None, "finished_at": None,
             "duration_ms": 12.5, "job_id": None, "progress": None, "owner": None, "step": None, "version": None}
            for i in range(first, min(n, first + INSERT_BATCH))
        ]  # fmt: skip
        async with rt.store.engine.begin() as conn:
            await conn.execute(runs.insert(), rows)


async def fill_records(rt: Runtime, n: int) -> str | None:
    """Save ``n`` records; the cursor of a page 90 % of the way into them."""
    await rt.connections.add("bench", "c1", {})
    stream = Stream("bench", "c1", "Contact")
    for first in range(0, n, INSERT_BATCH):
        batch = [make_record(i) for i in range(first, min(n, first + INSERT_BATCH))]
        await rt.store.records.save(stream, batch, run_id="fill")
    cursor, read = None, 0
    while read < n * 0.9:
        page = await rt.store.records.read(stream, cursor=cursor, limit=min(INSERT_BATCH, max(1, int(n * 0.9) - read)))
        cursor, read = page.next_cursor, read + len(page.records)
    return cursor


async def timed(session: aiohttp.ClientSession, url: str, n: int, headers: dict[str, str] | None = None) -> float:
    """Median ms of ``n`` GETs (after one warm-up)."""
    samples = []
    for i in range(n + 1):
        t0 = time.perf_counter()
        async with session.get(url, headers=headers) as response:
            assert response.status == 200, (url, response.status, await response.text())
            await response.read()
        if i:
            samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


async def main() -> None:
    p = parser("the dashboard: live log latency, runs and records pages at scale", 20)
    p.add_argument("--runs", type=int, default=100_000)
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--lines", type=int, default=40)
    args = p.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="splice-bench-ui-") as tmp:
        root = Path(tmp)
        (root / "integrations").mkdir()
        (root / "integrations" / "__init__.py").write_text("")
        (root / "integrations" / "bench.py").write_text(PROJECT)
        (root / "splice.toml").write_text(TOML)
        rt = await Runtime.open(root)
        server = ApiServer(create_app(rt), port=0)
        serving = asyncio.create_task(server.run_forever())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event
            await asyncio.sleep(0.01)
        _, secret = await rt.tokens.create("bench")
        bearer = {"Authorization": f"Bearer {secret}"}
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
                await sign_in(session, server.url, secret)
                latencies = sorted(await log_latency(rt, session, server.url, args.lines))
                t0 = time.perf_counter()
                await insert_runs(rt, args.runs)
                print(f"inserted {args.runs:,} runs in {time.perf_counter() - t0:.1f} s")
                ui_runs = await timed(session, f"{server.url}/ui/runs", args.n)
                rest_runs = await timed(session, f"{server.url}/runs?limit=50", args.n, bearer)
                t0 = time.perf_counter()
                deep = await fill_records(rt, args.records)
                print(f"saved {args.records:,} records in {time.perf_counter() - t0:.1f} s")
                query = "integration=bench&model=Contact&connection=c1"
                ui_first = await timed(session, f"{server.url}/ui/records?{query}", args.n)
                rest_first = await timed(session, f"{server.url}/records/bench/Contact?connection_id=c1&limit=50",
                                         args.n, bearer)  # fmt: skip
                cursor = aiohttp.helpers.quote(deep or "", safe="")
                ui_deep = await timed(session, f"{server.url}/ui/records?{query}&cursor={cursor}", args.n)
                rest_deep = await timed(session, f"{server.url}/records/bench/Contact?connection_id=c1&limit=50"
                                        f"&cursor={cursor}", args.n, bearer)  # fmt: skip
        finally:
            server.stop()
            await serving
            await rt.close()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"\nlog line → browser (SSE), {len(latencies)} lines: median {statistics.median(latencies) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms (goal: p95 ≤ 1000 ms)")  # fmt: skip
    rows = [
        [f"runs page, {args.runs:,} runs", ui_runs, rest_runs, ui_runs / rest_runs],
        [f"records page, {args.records:,} records (first)", ui_first, rest_first, ui_first / rest_first],
        [f"records page, {args.records:,} records (90 % in)", ui_deep, rest_deep, ui_deep / rest_deep],
    ]
    print(f"median ms of {args.n} GETs over loopback (goal: dashboard ≤ 200 ms); the REST list call is the baseline")
    print(table(["page", "dashboard (HTML)", "REST API (JSON)", "ratio"], rows))


if __name__ == "__main__":
    asyncio.run(main())
