"""Throughput with 1, 2 and 4 `splice worker` processes on PostgreSQL, and how fast a lost worker's job moves.

    .venv/bin/python bench/scale.py [--n 160] [--workers 1,2,4] [--concurrency 8] [--in-process]
                                    [--timeout 5] [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

Not a timed test. Each job is one action that waits ~100 ms on the demo API (``GET
/api/slow?seconds=0.1``, its own process): I/O-bound, like Windmill's published scaling test.
For each worker count W, a fresh PostgreSQL database, W real `splice worker --concurrency C`
processes, a warm-up round, then ``n × W`` jobs queued at once; throughput is jobs over the time
from the first measured run's start to the last one's end (read from the runs table). The
baseline in the same run is one worker: the ratio is throughput(W) / (W × throughput(1)), the
goal ≥ 0.8 until the machine's cores saturate. CPU per job is the workers' own CPU (worker,
zygote and the runs' children, from ``/proc``) over the jobs; the machine's busy share comes
from ``/proc/stat``.

Then recovery, with ``[runtime] worker_timeout`` = ``--timeout``: a job that runs 30 s, its
worker killed with SIGKILL (a process of this host: its pid is gone, so the others see it at
once) and, in a second round, stopped with SIGSTOP (silent, as a worker on another machine
looks): the time from the signal until the job's next attempt runs on another worker, against
the goal of 2 × the timeout.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import asyncpg
from _common import demo_server, machine, parser, project, table

from splice.runtime import Runtime

T = TypeVar("T")
SPLICE = Path(sys.executable).parent / "splice"
JOBS = """
import asyncio

from splice import Integration, auth

bench = Integration("bench", base_url="{config.api_url}/api", auth=auth.ApiKey(in_="header", name="X-API-Key"))


@bench.action
async def wait(ctx, input):
    await ctx.api.get("/slow?seconds=0.1")
    return {"i": input["i"]}


@bench.action
async def hold(ctx, input):
    await asyncio.sleep(30)
"""
TICKS = os.sysconf("SC_CLK_TCK")


class Worker:
    """One `splice worker` process and its log."""

    def __init__(self, root: Path, env: dict[str, str], name: str, log: Path, extra: list[str]) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen([str(SPLICE), "worker", "--id", name, *extra], cwd=root, env=env,
                                         stdout=out, stderr=subprocess.STDOUT)  # fmt: skip

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker {self.name} exited:\n{self.log.read_text()}")
        return "running on" in self.log.read_text()

    def cpu(self) -> float:
        """CPU seconds of the worker and its children (the zygote, and the runs it reaped)."""
        return sum(_cpu(pid) for pid in (self.proc.pid, *_children(self.proc.pid)))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / TICKS  # utime stime cutime cstime


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(c) for c in task.read_text().split()]
    return found


def busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


async def until(check: Callable[[], Awaitable[T | None]], what: str, timeout: float = 120) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise TimeoutError(f"waited {timeout} s for {what}")


class Database:
    """A fresh PostgreSQL database, dropped afterwards."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"splice_bench_{secrets.token_hex(4)}"
        self.url = admin_url.rsplit("/", 1)[0] + "/" + self.name

    async def __aenter__(self) -> str:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await conn.close()
        return self.url

    async def __aexit__(self, *exc: object) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()


async def start(root: Path, url: str, logs: Path, count: int, extra: list[str]) -> list[Worker]:
    env = {**os.environ, "SPLICE_DATABASE_URL": url}
    workers = [Worker(root, env, f"w{i + 1}", logs / f"w{i + 1}.log", extra) for i in range(count)]
    deadline = time.monotonic() + 60
    while not all(w.ready() for w in workers):
        if time.monotonic() > deadline:
            raise TimeoutError("workers did not start in 60 s")
        await asyncio.sleep(0.05)
    return workers


async def run_jobs(rt: Runtime, first: int, count: int) -> list[str]:
    """Queue ``count`` jobs of ``bench.wait`` at once and wait for all; their job ids."""
    jobs = await asyncio.gather(*(rt.jobs.enqueue("bench.wait", "c1", {"i": i}, dedup=None)
                                  for i in range(first, first + count)))  # fmt: skip
    for job in jobs:
        summary = await rt.jobs.wait(job, poll=0.05)
        assert summary["status"] == "succeeded", summary
    return list(jobs)


async def throughput(api_url: str, admin_url: str, count: int, n: int, concurrency: int, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as logs, project({"bench.py": JOBS}) as root:
        async with Database(admin_url) as url, await Runtime.open(root, database_url=url) as rt:
            await rt.connections.add("bench", "c1", {"api_key": "demo-key"}, config={"api_url": api_url})
            workers = await start(root, url, Path(logs), count, ["--concurrency", str(concurrency), *extra])
            try:
                await run_jobs(rt, 0, 2 * count * concurrency)  # warm: zygotes, connections, DBOS
                cpu0, (busy0, total0) = sum(w.cpu() for w in workers), busy()
                jobs = set(await run_jobs(rt, 10_000, n * count))
                cpu1, (busy1, total1) = sum(w.cpu() for w in workers), busy()
                runs = [r for r in await rt.runs.find(script="wait", limit=100_000) if r.job_id in jobs]
                assert len(runs) == len(jobs), (len(runs), len(jobs))
                began = min(r.started_at for r in runs if r.started_at)
                ended = max(r.finished_at for r in runs if r.finished_at)
                seconds = (ended - began).total_seconds()
                per_worker: dict[str, int] = {}
                for r in runs:
                    per_worker[r.owner or "?"] = per_worker.get(r.owner or "?", 0) + 1
                return {
                    "jobs": len(runs),
                    "seconds": seconds,
                    "rate": len(runs) / seconds,
                    "cpu_ms": (cpu1 - cpu0) / len(runs) * 1000,
                    "busy": (busy1 - busy0) / (total1 - total0),
                    "spread": sorted(per_worker.values()),
                }
            finally:
                for w in workers:
                    w.stop()


async def recovery(api_url: str, admin_url: str, timeout: float, sig: int) -> float:
    """Seconds from ``sig`` on the worker running a job to the job's next attempt running elsewhere."""
    with tempfile.TemporaryDirectory() as logs, project({"bench.py": JOBS}, f"worker_timeout = {timeout}\n") as root:
        async with Database(admin_url) as url, await Runtime.open(root, database_url=url) as rt:
            await rt.connections.add("bench", "c1", {"api_key": "demo-key"}, config={"api_url": api_url})
            workers = await start(root, url, Path(logs), 2, [])
            try:
                job = await rt.jobs.enqueue("bench.hold", "c1", {}, dedup=None)

                async def attempt(n: int) -> object:
                    runs = await rt.runs.find(job_id=job, status="running")
                    return next((r for r in runs if r.attempt == n), None)

                first = await until(lambda: attempt(1), "the job to start")
                victim = next(w for w in workers if w.name == first.owner)
                victim.proc.send_signal(sig)
                sent = time.monotonic()
                if sig == signal.SIGKILL:
                    victim.proc.wait()  # reaped, as its supervisor would: no zombie keeps its pid alive
                second = await until(lambda: attempt(2), "the job to run again", timeout=10 * timeout + 60)
                took = time.monotonic() - sent
                assert second.owner != victim.name, second.owner
                return took
            finally:
                for w in workers:
                    w.stop()


async def main() -> None:
    p = parser(__doc__.splitlines()[0], 160)
    p.add_argument("--workers", default="1,2,4", help="worker counts, the first is the baseline (default 1,2,4)")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--in-process", action="store_true", help="workers run scripts in-process (no sandboxed child)")
    p.add_argument("--timeout", type=float, default=5.0, help="[runtime] worker_timeout for the recovery rounds")
    p.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = p.parse_args()
    counts = [int(c) for c in args.workers.split(",")]
    extra = ["--in-process"] if args.in_process else []
    print(machine())
    mode = "in-process" if args.in_process else "sandboxed child per run"
    print(f"{args.n} jobs per worker, concurrency {args.concurrency}, each ~100 ms on the demo API; {mode}")
    rows = []
    with demo_server() as api_url:
        base = None
        for count in counts:
            r = await throughput(api_url, args.admin_url, count, args.n, args.concurrency, extra)
            base = base or r["rate"] / count
            ideal = count * args.concurrency / 0.1
            rows.append([f"{count} worker(s)", r["jobs"], r["seconds"], r["rate"], r["rate"] / (count * base),
                         ideal, r["cpu_ms"], f"{r['busy']:.0%}", "/".join(map(str, r["spread"]))])  # fmt: skip
            print(f"  {count} worker(s): {r['rate']:.1f} jobs/s", flush=True)
        print()
        print(table(["workers", "jobs", "s", "jobs/s", "× linear", "ideal jobs/s", "CPU ms/job", "machine busy",
                     "jobs per worker"], rows))  # fmt: skip
        print()
        rounds = (("kill -9 (same host)", signal.SIGKILL), ("SIGSTOP (silent, as another host)", signal.SIGSTOP))
        for name, sig in rounds:
            took = await recovery(api_url, args.admin_url, args.timeout, sig)
            print(f"recovery after {name}: {took:.2f} s = {took / args.timeout:.2f} × worker_timeout "
                  f"({args.timeout:g} s; goal ≤ 2×)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
