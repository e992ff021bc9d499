"""What hardened isolation costs per run: full sandbox vs a plain child vs in-process.

    .venv/bin/python bench/isolation.py [--n 1000] [--warmup 20]

The same trivial action (no auth, no I/O) as ``action_overhead.py``, end to end through
``await runtime.run(...)`` → stored result, in three modes on one machine in one run:

* ``in-process``  — ``isolation = "none"``: no child at all (the baseline);
* ``child, off``  — ``sandbox = "off"``: a forked child with only the memory and CPU rlimits;
* ``child, full`` — ``sandbox = "auto"`` on a host that grants everything: the zygote sits in
  network and mount namespaces behind Landlock and seccomp; each child closes inherited
  files, sets five rlimits, applies its own Landlock ruleset (its scratch directory), drops
  to the sandbox uid, loads a second seccomp filter, clears its environment, and the zygote
  creates and removes its scratch directory.

Modes are interleaved run by run, after ``--warmup`` runs each. The zygote's start-up
(probe + confinement + importing the project) is timed separately: it happens once per worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import statistics
import time
from pathlib import Path
from typing import Any

from _common import interleaved, machine, parser, project, summary, table
from action_overhead import BENCH  # the same trivial action

from splice.runtime import Runtime

GOAL_FULL_P50_MS = 8.0


MODES = {"in-process": ("none", "off"), "child, off": ("process", "off"), "child, full": ("process", "auto")}


async def start(root: Path, isolation: str) -> tuple[Runtime, float]:
    """A runtime on ``root``; the seconds from opening it to its first run's result."""
    t0 = time.perf_counter()
    rt = await Runtime.open(root, isolation=isolation)
    await run_once(rt)
    return rt, time.perf_counter() - t0


async def run_once(rt: Runtime) -> Any:
    run = await rt.run("bench.noop", input={"i": 1})
    if run.status != "succeeded":
        raise RuntimeError(f"{rt.isolation} run {run.status}: {run.error}")
    return run.output


async def main(n: int, warmup: int) -> None:
    runtimes: dict[str, Runtime] = {}
    startup: dict[str, float] = {}
    with contextlib.ExitStack() as projects:
        try:
            for mode, (isolation, sandbox) in MODES.items():
                root = projects.enter_context(project({"bench.py": BENCH}, runtime=f'sandbox = "{sandbox}"\n'))
                runtimes[mode], startup[mode] = await start(root, isolation)
            full = runtimes["child, full"].executor._spawner
            granted = full.protections.summary() if full else "?"
            calls = {mode: functools.partial(run_once, rt) for mode, rt in runtimes.items()}
            samples, wall = await interleaved(calls, n, warmup)
        finally:
            for rt in runtimes.values():
                await rt.close()
    report(samples, startup, granted, n, warmup, wall)


HEADERS = ["mode", "runs/s", "p50 µs", "p90 µs", "p99 µs", "max µs", "p50 × in-process", "+p50 µs vs off", "start s"]


def report(
    samples: dict[str, list[float]], startup: dict[str, float], granted: str, n: int, warmup: int, wall: float
) -> None:
    stats = {mode: summary(xs) for mode, xs in samples.items()}
    base, off = stats["in-process"]["p50"], stats["child, off"]["p50"]
    rows: list[list[Any]] = []
    for mode, xs in samples.items():
        s = stats[mode]
        extra = s["p50"] - off if mode != "in-process" else "-"
        rows.append(
            [mode, 1 / statistics.fmean(xs), s["p50"], s["p90"], s["p99"], max(xs) * 1e6, s["p50"] / base, extra]
        )
        rows[-1].append(startup[mode])
    print(f"\ntrivial action, {n} runs per mode after {warmup} warm-up runs ({wall:.1f} s in all), {machine()}")
    print(granted)
    print(table(HEADERS, rows))
    full_ms = stats["child, full"]["p50"] / 1000
    verdict = "ok" if full_ms <= GOAL_FULL_P50_MS else "MISSED"
    print(f"goal: full isolation p50 ≤ {GOAL_FULL_P50_MS:g} ms — measured {full_ms:.2f} ms: {verdict}")
    print(f"hardening costs {(stats['child, full']['p50'] - off) / 1000:.2f} ms per run over a plain child (p50)")


if __name__ == "__main__":
    p = parser(__doc__.splitlines()[0], n=1000)
    p.add_argument("--warmup", type=int, default=20, help="unmeasured runs per mode first (default 20)")
    args = p.parse_args()
    asyncio.run(main(args.n, args.warmup))
