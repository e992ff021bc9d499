"""Where one trivial run's time goes, phase by phase, as the parent sees it (a profiling aid).

    .venv/bin/python bench/run_phases.py [--n 500]

Wraps the parent-side steps of ``Runtime.run`` with timers (no change to splice itself):
the store writes, the zygote fork round trip, the child's whole life on its socket, the
wait for its exit, and counts the aiosqlite thread round trips each run makes.
Uses the same no-auth, no-I/O ``bench.noop`` action as ``action_overhead.py``.
"""

from __future__ import annotations

import asyncio
import collections
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite.core
from _common import machine, parser, project, table
from action_overhead import BENCH

from splice._runtime.executor import Executor
from splice._runtime.gateway import RunGateway
from splice._runtime.spawner import Spawner
from splice.runtime import Runtime
from splice.store._env import EnvStore
from splice.store._runs import RunStore

TIMES: dict[str, list[float]] = collections.defaultdict(list)
HOPS = [0]
STEPS: list[tuple[type, str, str]] = [
    (RunStore, "create", "store: INSERT the run"),
    (EnvStore, "all", "store: read operator env vars"),
    (Spawner, "fork", "zygote: fork request → pid"),
    (RunGateway, "serve", "child: start → done on the socket"),
    (Spawner, "wait_exit", "zygote: child exit reaped"),
    (Executor, "execute", "  executor total"),
    (RunStore, "finish", "store: SELECT + UPDATE outcome"),
    (Runtime, "run", "runtime.run total"),
]


def timed(label: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            TIMES[label].append(time.perf_counter() - t0)

    return wrapper


def counted(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        HOPS[0] += 1
        return await fn(*args, **kwargs)

    return wrapper


async def main(n: int) -> None:
    for cls, name, label in STEPS:
        setattr(cls, name, timed(label, getattr(cls, name)))
    aiosqlite.core.Connection._execute = counted(aiosqlite.core.Connection._execute)  # type: ignore[method-assign]
    print(f"\nphases of one trivial run, p50 / mean over {n} runs after 20 warm-up runs, {machine()}")
    with project({"bench.py": BENCH}) as root:
        for mode in ("none", "process"):
            rt = await Runtime.open(root, isolation=mode)
            try:
                for i in range(20 + n):
                    if i == 20:
                        TIMES.clear()
                        HOPS[0] = 0
                    await rt.run("bench.noop", input={"i": 1})
            finally:
                await rt.close()
            rows = [[label, statistics.median(xs) * 1e6, statistics.fmean(xs) * 1e6] for label, xs in TIMES.items()]
            print(f"\nisolation={mode!r}: {HOPS[0] / n:.1f} aiosqlite thread round trips per run")
            print(table(["phase", "p50 µs", "mean µs"], rows))


if __name__ == "__main__":
    asyncio.run(main(parser(__doc__.splitlines()[0], n=500).parse_args().n))
