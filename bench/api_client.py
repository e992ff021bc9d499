"""``ctx.api.get`` of a ~1 KB JSON body vs raw aiohttp, against the demo API in its own process.

    .venv/bin/python bench/api_client.py [--n 2000] [--rounds 3]

Each mode does N sequential GETs of ``/api/big-json?kb=1`` (API key in ``X-API-Key``):

* ``raw aiohttp``  — one ClientSession in this process, ``GET`` + ``orjson`` decode (the baseline);
* ``in-process``   — one ``runtime.run`` with ``isolation="none"`` whose action loops N times;
* ``child``        — the same action in a forked child (``isolation="process"``): every call
  crosses the socketpair to this process, which does the HTTP.

Inside a run the action times each call with ``time.perf_counter`` and returns the samples,
so run start-up is excluded; the run's wall time seen from outside is reported too.
Modes are interleaved over ``--rounds`` rounds (after one warm-up round) and samples pooled.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson
from _common import demo_server, machine, parser, project, summary, table

from splice.runtime import Runtime

PATH, QUERY, KEY = "/big-json", {"kb": "1"}, "demo-key"
GOALS = {"child": 1.5, "in-process": 1.1}

BENCH = """
import time

from splice import Integration, auth

bench = Integration("bench", base_url="{config.api_url}/api", auth=auth.ApiKey(in_="header", name="X-API-Key"))


@bench.action
async def get_loop(ctx, input):
    samples = []
    started = time.perf_counter()
    for _ in range(input["n"]):
        t0 = time.perf_counter()
        data = await ctx.api.get(input["path"], query=input["query"])
        samples.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    assert data["kb"] == 1, data
    return {"elapsed": elapsed, "samples": samples}
"""


class Result:
    def __init__(self) -> None:
        self.samples: list[float] = []
        self.inside = 0.0  # seconds the loop itself measured
        self.outside = 0.0  # wall time of the whole run (or the whole raw loop)
        self.runs = 0

    def add(self, samples: list[float], inside: float, outside: float) -> None:
        self.samples += samples
        self.inside += inside
        self.outside += outside
        self.runs += 1


async def raw_loop(session: aiohttp.ClientSession, url: str, n: int) -> tuple[list[float], float]:
    samples: list[float] = []
    started = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        async with session.get(url + "/api" + PATH, params=QUERY, headers={"X-API-Key": KEY}) as response:
            response.raise_for_status()
            data = orjson.loads(await response.read())
        samples.append(time.perf_counter() - t0)
    assert data["kb"] == 1
    return samples, time.perf_counter() - started


async def splice_loop(rt: Runtime, n: int) -> tuple[list[float], float, float]:
    t0 = time.perf_counter()
    run = await rt.run("bench.get_loop", connection="k1", input={"n": n, "path": PATH, "query": QUERY})
    outside = time.perf_counter() - t0
    if run.status != "succeeded":
        raise RuntimeError(f"{rt.isolation} run {run.status}: {run.error}")
    assert isinstance(run.output, dict)
    return run.output["samples"], run.output["elapsed"], outside


async def main(n: int, rounds: int) -> None:
    with demo_server() as url, project({"bench.py": BENCH}) as root:
        child = await Runtime.open(root, isolation="process")
        inproc = await Runtime.open(root, isolation="none")
        await child.connections.add("bench", "k1", {"api_key": KEY}, config={"api_url": url})
        results: dict[str, Result] = {"raw aiohttp": Result(), "in-process": Result(), "child": Result()}
        try:
            async with aiohttp.ClientSession() as session:
                for round_ in range(rounds + 1):  # round 0 warms up every path
                    count = min(n, 200) if round_ == 0 else n
                    samples, inside = await raw_loop(session, url, count)
                    measured: dict[str, tuple[list[float], float, float]] = {"raw aiohttp": (samples, inside, inside)}
                    measured["in-process"] = await splice_loop(inproc, count)
                    measured["child"] = await splice_loop(child, count)
                    if round_:
                        for mode, values in measured.items():
                            results[mode].add(*values)
        finally:
            await inproc.close()
            await child.close()
    report(results, n, rounds)


HEADERS = ["mode", "req/s", "mean µs", "p50 µs", "p99 µs", "run wall ms", "outside ms"]
HEADERS += ["× raw mean", "× raw p50", "goal", "verdict"]


def report(results: dict[str, Result], n: int, rounds: int) -> None:
    base = summary(results["raw aiohttp"].samples)
    rows: list[list[Any]] = []
    for mode, r in results.items():
        s = summary(r.samples)
        ratio = s["mean"] / base["mean"]
        goal = f"≤ {GOALS[mode]}×" if mode in GOALS else ""
        verdict = ("ok" if ratio <= GOALS[mode] else "MISSED") if mode in GOALS else "baseline"
        row = [mode, len(r.samples) / r.inside, s["mean"], s["p50"], s["p99"], r.outside / r.runs * 1000]
        row += [(r.outside - r.inside) / r.runs * 1000, ratio, s["p50"] / base["p50"], goal, verdict]
        rows.append(row)
    print(f"\nGET /api/big-json?kb=1 — {n} sequential requests x {rounds} rounds, {machine()}")
    print(table(HEADERS, rows))
    print("run wall ms: one whole run as the caller sees it; outside ms: the part of it the loop did not see")


if __name__ == "__main__":
    p = parser(__doc__.splitlines()[0], n=2000)
    p.add_argument("--rounds", type=int, default=3, help="measured rounds, modes interleaved (default 3)")
    args = p.parse_args()
    asyncio.run(main(args.n, args.rounds))
