"""A first sync of 2M records, its worker killed with SIGKILL half-way, resumed by a restarted worker.

    .venv/bin/python bench/sync_crash.py [--n 2000000] [--page 1000] [--kill-at 0.5] [--database-url URL]

Not a timed test: a demonstration at the issue's scale that the tests (3,000 records) cannot
afford. The demo API runs in its own process serving N synthetic ~1 KB records on
``/api/paged/big``; the sync saves each page and checkpoints the next page's URL. A real
``splice worker`` process runs the job; when the store holds ``kill-at`` × N records it gets
``kill -9``; a new worker with the same ``--id`` recovers the job and the second attempt resumes
from the checkpoint. Then every record is read back by cursor and checked: exactly the ids the
API serves, once each, none deleted. The baseline in the same run is the same sync without a
crash, so the ratio is what the crash cost.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import free_port, machine, parser, project

from splice.runtime import Runtime
from splice.store import Stream

SYNC = """
from pydantic import BaseModel

from splice import Integration, auth

bench = Integration("bench", base_url="{config.api_url}/api", auth=auth.ApiKey(in_="header", name="X-API-Key"))


class Item(BaseModel):
    id: str
    index: int


@bench.sync(models=[Item], every="1d", retries=0)
async def items(ctx):
    checkpoint = await ctx.checkpoint.get()
    url = checkpoint.get("next") or "/paged/big?limit=PAGE"
    while url:
        page = await ctx.api.get(url)
        await ctx.records.save(page["results"])
        url = page["next"]
        await ctx.checkpoint.save({"next": url})
    await ctx.checkpoint.clear()
"""
SPLICE = Path(sys.executable).parent / "splice"
STREAM = Stream("bench", "c1", "Item")


def start_api(n: int) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "splice.demo.server", "--port", str(port), "--contacts", "10", "--big", str(n)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("http"):
        raise RuntimeError(f"demo server did not start (got {line!r})")
    return proc, line


def start_worker(root: Path, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        proc = subprocess.Popen([str(SPLICE), "worker", "--id", "crash-bench"], cwd=root, env=env, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
    while "running on" not in log.read_text():
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited:\n{log.read_text()}")
        time.sleep(0.05)
    return proc


async def read_all(rt: Runtime) -> tuple[int, int, bool]:
    """(records, deleted, ids exactly r0000001…rN in order of first sight) by cursor pages of 10,000."""
    count = deleted = 0
    seen: set[str] = set()
    cursor = None
    while True:
        page = await rt.records.read("bench", "Item", connection="c1", cursor=cursor, limit=10_000)
        for record in page.records:
            seen.add(record["id"])
            deleted += record["_splice"]["deleted_at"] is not None
        count += len(page.records)
        if page.next_cursor is None:
            return count, deleted, len(seen) == count
        cursor = page.next_cursor


async def one_sync(n: int, page: int, kill_at: float | None, database_url: str | None) -> dict[str, float]:
    api, url = start_api(n)
    with tempfile.TemporaryDirectory() as logs, project({"bench.py": SYNC.replace("PAGE", str(page))}) as root:
        env = {k: v for k, v in os.environ.items() if k != "SPLICE_DATABASE_URL"}
        if database_url:
            env["SPLICE_DATABASE_URL"] = database_url
        log = Path(logs) / "worker.log"
        worker = None
        try:
            async with await Runtime.open(root, database_url=database_url) as rt:
                await rt.connections.add("bench", "c1", {"api_key": "demo-key"}, config={"api_url": url})
                worker = await asyncio.to_thread(start_worker, root, log, env)
                started = time.perf_counter()
                job = await rt.syncs.trigger("bench.items", "c1")
                figures: dict[str, float] = {}
                if kill_at is not None:
                    while (await rt.store.records.count(STREAM))["live"] < kill_at * n:  # noqa: ASYNC110 - polls the store
                        await asyncio.sleep(0.2)
                    worker.send_signal(signal.SIGKILL)
                    worker.wait()
                    figures["killed_at"] = (await rt.store.records.count(STREAM))["live"]
                    figures["kill_s"] = time.perf_counter() - started
                    worker = await asyncio.to_thread(start_worker, root, log, env)
                summary = await rt.wait_job(job)
                figures["total_s"] = time.perf_counter() - started
                assert summary["status"] == "succeeded", summary
                runs = list(reversed(await rt.runs.find(integration="bench", script="items", connection_id="c1")))
                figures["attempts"] = len(runs)
                last = runs[-1].output["records"]["Item"]
                figures["added_by_last"] = last["added"]
                figures["unchanged_by_last"] = last["unchanged"]
                read_started = time.perf_counter()
                count, deleted, unique = await read_all(rt)
                figures["read_s"] = time.perf_counter() - read_started
                figures["records"] = count
                assert count == n and deleted == 0 and unique, (count, deleted, unique)
                if kill_at is not None:
                    assert [r.status for r in runs] == ["failed", "succeeded"], [r.status for r in runs]
                    assert runs[0].error["code"] == "WORKER_LOST"
                    assert last["added"] == n - figures["killed_at"]
                return figures
        finally:
            if worker is not None and worker.poll() is None:
                worker.terminate()
                worker.wait()
            api.terminate()
            api.wait()


async def main() -> None:
    p = parser(__doc__.splitlines()[0], 2_000_000)
    p.add_argument("--page", type=int, default=1000)
    p.add_argument("--kill-at", type=float, default=0.5)
    p.add_argument("--database-url", default=None, help="PostgreSQL URL (default: the project's SQLite file)")
    args = p.parse_args()
    print(machine())
    print(f"{args.n:,} records in pages of {args.page:,}, store: {args.database_url or 'SQLite'}")
    baseline = await one_sync(args.n, args.page, None, args.database_url)
    print(f"no crash:   {baseline['total_s']:.1f} s ({args.n / baseline['total_s']:,.0f} records/s), "
          f"read back by cursor in {baseline['read_s']:.1f} s")  # fmt: skip
    crashed = await one_sync(args.n, args.page, args.kill_at, args.database_url)
    print(
        f"kill -9 at {crashed['killed_at']:,.0f} records ({crashed['kill_s']:.1f} s); resumed: attempt 2 added "
        f"{crashed['added_by_last']:,.0f}, re-saved {crashed['unchanged_by_last']:,.0f} unchanged; "
        f"total {crashed['total_s']:.1f} s incl. the restart"
    )
    print(f"store after the crash: {crashed['records']:,.0f} records, every id once, none deleted — exact")
    print(f"ratio crashed / uncrashed wall time: {crashed['total_s'] / baseline['total_s']:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
