"""End-to-end latency of a trivial action: ``await runtime.run("bench.noop")`` → stored result.

    .venv/bin/python bench/action_overhead.py [--n 1000] [--warmup 20]

The integration has no auth (no connection) and the action does no I/O, so what is measured
is splice's own cost per run: store the run, fork a child from the zygote (process mode),
send ``start``, run the script, send ``done``, reap the child, store the outcome.

* ``direct``      — ``await noop(stub_ctx, input)``: the baseline, the function alone;
* ``in-process``  — ``runtime.run`` with ``isolation="none"``;
* ``child``       — ``runtime.run`` with ``isolation="process"`` (the default).

Modes are interleaved run by run (after ``--warmup`` runs each) so machine noise hits all alike.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable
from typing import Any

from _common import interleaved, machine, parser, project, summary, table

from splice.runtime import Runtime

GOAL_CHILD_P50_MS = 10.0

BENCH = """
from splice import Integration

bench = Integration("bench", base_url="http://127.0.0.1")


@bench.action
async def noop(ctx, input):
    return {"ok": True, "echo": input}
"""

Call = Callable[[], Awaitable[Any]]


class StubContext:
    """Stands in for ``ctx``: the action never touches it."""

    log = None
    api = None


def run_call(rt: Runtime) -> Call:
    async def call() -> Any:
        run = await rt.run("bench.noop", input={"i": 1})
        if run.status != "succeeded":
            raise RuntimeError(f"{rt.isolation} run {run.status}: {run.error}")
        return run.output

    return call


async def main(n: int, warmup: int) -> None:
    with project({"bench.py": BENCH}) as root:
        inproc = await Runtime.open(root, isolation="none")
        child = await Runtime.open(root, isolation="process")
        try:
            noop = inproc.project.script("bench.noop").fn
            ctx = StubContext()

            async def direct() -> Any:
                return await noop(ctx, {"i": 1})

            calls: dict[str, Call] = {"direct": direct, "in-process": run_call(inproc), "child": run_call(child)}
            samples, wall = await interleaved(calls, n, warmup)
        finally:
            await child.close()
            await inproc.close()
    report(samples, n, warmup, wall)


HEADERS = ["mode", "runs/s", "mean µs", "p50 µs", "p90 µs", "p99 µs", "max µs", "p50 × direct"]


def report(samples: dict[str, list[float]], n: int, warmup: int, wall: float) -> None:
    stats = {mode: summary(xs) for mode, xs in samples.items()}
    rows: list[list[Any]] = []
    for mode, xs in samples.items():
        s = stats[mode]
        rows.append([mode, 1 / statistics.fmean(xs), s["mean"], s["p50"], s["p90"], s["p99"], max(xs) * 1e6])
        rows[-1].append(s["p50"] / stats["direct"]["p50"])
    print(f"\ntrivial action, {n} runs per mode after {warmup} warm-up runs ({wall:.1f} s in all), {machine()}")
    print(table(HEADERS, rows))
    child_ms, inproc_ms = stats["child"]["p50"] / 1000, stats["in-process"]["p50"] / 1000
    verdict = "ok" if child_ms <= GOAL_CHILD_P50_MS else "MISSED"
    print(f"goal: child p50 ≤ {GOAL_CHILD_P50_MS:g} ms — measured {child_ms:.2f} ms: {verdict}")
    print(f"process isolation costs {child_ms - inproc_ms:.2f} ms per run over in-process (p50)")


if __name__ == "__main__":
    p = parser(__doc__.splitlines()[0], n=1000)
    p.add_argument("--warmup", type=int, default=20, help="unmeasured runs per mode first (default 20)")
    args = p.parse_args()
    asyncio.run(main(args.n, args.warmup))
