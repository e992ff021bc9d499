"""A 40-step flow of trivial code steps (fibo(10) each), end to end, against its peers in one run.

    .venv/bin/python bench/flows.py [--n 20] [--warmup 3] [--no-prefect] [--no-postgres]

* ``splice``: ``rt.flows.run(...)`` from the call to the stored result; every step a sandboxed
  code step and a child run of the flow run (its checkpoint), on SQLite WAL (the embedded
  default) and on PostgreSQL (fsync'd commits, the server's defaults). A step that changed
  nothing outside the run (no HTTP call, no write) is checkpointed without being waited for (a
  crash re-runs it, harmlessly); the ``each step writes state`` rows make every step write, so
  every checkpoint is committed before the next step starts;
* ``dbos``: the floor — a bare DBOS workflow with 40 ``@DBOS.step`` calls, in its own process,
  on SQLite WAL and PostgreSQL;
* ``prefect``: Prefect 3 running the same 40 tasks (sync and async flows), installed by this
  script into its own venv (``~/.cache/splice-bench/prefect``) the first time.

p50 over ``--n`` runs after ``--warmup``; ratios to splice on SQLite. Goal (issue 13): splice
≤ 0.1 s on SQLite, ≤ 0.25 s on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from _common import machine, parser, project, table

from splice.runtime import Runtime

STEPS = 40
WRITES = "splice, each step writes state, "
GOAL_SQLITE_S, GOAL_POSTGRES_S = 0.1, 0.25
PG_ADMIN = os.environ.get("SPLICE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PREFECT_VENV = Path.home() / ".cache" / "splice-bench" / "prefect"

FLOW = f"""
from splice import Integration, step

bench = Integration("bench", base_url="http://127.0.0.1:9")


def fibo(n):
    return n if n < 2 else fibo(n - 1) + fibo(n - 2)


@bench.step()
async def fib(ctx, step_results):
    return fibo(10)


@bench.step()
async def fib_and_write(ctx, step_results):
    await ctx.state.put("last", ctx.run.step)
    return fibo(10)


bench.flow("forty", steps=[step.code(f"Step {{i:02d}}", fib) for i in range({STEPS})])
bench.flow("forty_writes", steps=[step.code(f"Step {{i:02d}}", fib_and_write) for i in range({STEPS})])
"""

DBOS_FLOOR = f"""
import json, statistics, sys, time
from dbos import DBOS

def fibo(n):
    return n if n < 2 else fibo(n - 1) + fibo(n - 2)

@DBOS.step()
def step(i):
    return fibo(10)

@DBOS.workflow()
def forty():
    return [step(i) for i in range({STEPS})]

url, n, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
DBOS(config={{"name": "bench-floor", "system_database_url": url, "log_level": "CRITICAL"}})
DBOS.launch()
for _ in range(warmup):
    forty()
xs = []
for _ in range(n):
    t = time.perf_counter()
    forty()
    xs.append(time.perf_counter() - t)
DBOS.destroy()
print("RESULT " + json.dumps(xs), flush=True)
"""

PREFECT = f"""
import asyncio, json, logging, sys, time
from prefect import flow, task

def fibo(n):
    return n if n < 2 else fibo(n - 1) + fibo(n - 2)

@task
def fib_task(i):
    return fibo(10)

@task
async def afib_task(i):
    return fibo(10)

@flow(log_prints=False)
def forty():
    return [fib_task(i) for i in range({STEPS})]

@flow(log_prints=False)
async def aforty():
    return [await afib_task(i) for i in range({STEPS})]

n, warmup = int(sys.argv[1]), int(sys.argv[2])
logging.disable(logging.CRITICAL)
out = {{}}
for name, call in (("sync", lambda: forty()), ("async", lambda: asyncio.run(aforty()))):
    for _ in range(warmup):
        call()
    xs = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        xs.append(time.perf_counter() - t)
    out[name] = xs
print("RESULT " + json.dumps(out), flush=True)
"""


#: step-to-step gaps (one step's end to the next one's start, its checkpoint commit included
#: when the step wrote something), ms
TRANSITIONS: dict[str, list[float]] = {}


async def splice_runs(
    root: Path, n: int, warmup: int, database_url: str | None, isolation: str, flow: str = "bench.forty"
) -> list[float]:
    async with await Runtime.open(root, isolation=isolation, database_url=database_url) as rt:
        for _ in range(warmup):
            await rt.flows.run(flow)
        xs, gaps = [], []
        for _ in range(n):
            started = time.perf_counter()
            run = await rt.flows.run(flow)
            xs.append(time.perf_counter() - started)
            if run.status != "succeeded":
                raise RuntimeError(f"flow run {run.status}: {run.error}")
            steps = sorted(await rt.runs.find(parent_id=run.id, limit=100), key=lambda r: r.created_at)
            for before, after in itertools.pairwise(steps):
                assert before.finished_at is not None
                gaps.append((after.created_at - before.finished_at).total_seconds() * 1000)
        TRANSITIONS[f"{flow}, {'PostgreSQL' if database_url else 'SQLite'}, {isolation}"] = gaps
        return xs


def dbos_floor(url: str, n: int, warmup: int) -> list[float]:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(DBOS_FLOOR)
    try:
        done = subprocess.run([sys.executable, script.name, url, str(n), str(warmup)], capture_output=True,
                              text=True, check=True, timeout=600)  # fmt: skip
        return list(_result(done))
    finally:
        os.unlink(script.name)


def prefect_runs(n: int, warmup: int) -> dict[str, list[float]]:
    python = PREFECT_VENV / "bin" / "python"
    if not python.exists():
        print("installing Prefect 3 into", PREFECT_VENV, "(once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PREFECT_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "prefect>=3.9,<3.10"], check=True)
    with tempfile.TemporaryDirectory() as home:
        script = Path(home) / "forty.py"
        script.write_text(PREFECT)
        env = {**os.environ, "PREFECT_HOME": home, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "PREFECT_LOGGING_LEVEL": "CRITICAL"}  # fmt: skip
        done = subprocess.run([str(python), str(script), str(n), str(warmup)], capture_output=True, text=True,
                              check=True, timeout=900, env=env)  # fmt: skip
    return dict(_result(done))


def _result(done: subprocess.CompletedProcess[str]) -> Any:
    """The ``RESULT {json}`` line a measuring subprocess printed (around whatever else it logs)."""
    for line in (done.stdout + "\n" + done.stderr).splitlines():
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))
    raise RuntimeError(f"no result from {done.args}: {done.stdout[-500:]} {done.stderr[-2000:]}")


async def postgres_database(name: str) -> str | None:
    """A fresh database on the admin server, or None when PostgreSQL does not answer."""
    import asyncpg

    try:
        admin = await asyncpg.connect(PG_ADMIN.replace("postgresql+psycopg", "postgresql"), timeout=5)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


async def main(n: int, warmup: int, prefect: bool, postgres: bool) -> None:
    results: dict[str, list[float]] = {}
    with project({"bench.py": FLOW}) as root:
        results["splice, SQLite, sandboxed"] = await splice_runs(root, n, warmup, None, "process")
        results["splice, SQLite, in-process"] = await splice_runs(root, n, warmup, None, "none")
        results[WRITES + "SQLite"] = await splice_runs(root, n, warmup, None, "process", "bench.forty_writes")
        pg = await postgres_database("splice_bench_flows") if postgres else None
        if pg is not None:
            results["splice, PostgreSQL, sandboxed"] = await splice_runs(root, n, warmup, pg, "process")
            results[WRITES + "PostgreSQL"] = await splice_runs(root, n, warmup, pg, "process", "bench.forty_writes")
        with tempfile.TemporaryDirectory() as tmp:
            results["dbos floor, SQLite"] = dbos_floor(f"sqlite:///{tmp}/dbos.db", n, warmup)
        floor_pg = await postgres_database("splice_bench_dbos") if postgres else None
        if floor_pg is not None:
            results["dbos floor, PostgreSQL"] = dbos_floor(floor_pg.replace("postgresql:", "postgresql+psycopg:"), n,
                                                           warmup)  # fmt: skip
    if prefect:
        for mode, xs in prefect_runs(n, warmup).items():
            results[f"prefect 3, {mode}"] = xs
    report(results, n, warmup)


def report(results: dict[str, list[float]], n: int, warmup: int) -> None:
    base = statistics.median(results["splice, SQLite, sandboxed"])
    rows: list[list[Any]] = []
    for name, xs in results.items():
        p50 = statistics.median(xs)
        rows.append([name, p50 * 1000, min(xs) * 1000, p50 / STEPS * 1000, p50 / base])
    print(f"\n{STEPS}-step flow of fibo(10) code steps, p50 of {n} after {warmup} warm-up, {machine()}")
    print(table(["system", "p50 ms", "min ms", "ms / step", "× splice SQLite"], rows))
    for where, gaps in TRANSITIONS.items():
        p50, p90 = statistics.median(gaps), statistics.quantiles(gaps, n=10)[-1]
        verdict = "ok" if p50 <= 1.0 else "MISSED"
        print(f"step-to-step transition ({where}): p50 {p50:.2f} ms, p90 {p90:.2f} ms — "
              f"goal p50 ≤ 1 ms without the checkpoint: {verdict}")  # fmt: skip
    for label, goal in (
        ("splice, SQLite, sandboxed", GOAL_SQLITE_S),
        ("splice, PostgreSQL, sandboxed", GOAL_POSTGRES_S),
    ):
        if label in results:
            p50 = statistics.median(results[label])
            verdict = "ok" if p50 <= goal else "MISSED"
            print(f"goal: {label} p50 ≤ {goal:g} s — measured {p50:.3f} s: {verdict}")


if __name__ == "__main__":
    p = parser(textwrap.dedent(__doc__ or "").splitlines()[0], n=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--no-prefect", action="store_true", help="leave Prefect out (it installs into a venv)")
    p.add_argument("--no-postgres", action="store_true")
    args = p.parse_args()
    asyncio.run(main(args.n, args.warmup, not args.no_prefect, not args.no_postgres))
