"""Replaying a 100-request action from a fixture vs running it live against the loopback demo API.

    .venv/bin/python bench/replay.py [--n 20] [--warmup 3]

The action makes 100 sequential ``GET /api/whoami`` calls (API key auth). It is recorded once
through :class:`splice.testing.RecordingTransport`, then timed, interleaved run by run:

* ``live``            — ``rt.run`` on a runtime whose transport is aiohttp, against the demo API in
  its own process on 127.0.0.1: the baseline;
* ``replay sandboxed`` — ``rt.run`` on a runtime whose transport is a ``ReplayTransport`` of the
  fixture, the script in the sandboxed child as live (only the wire differs);
* ``replay in-process`` — the same, the script in-process: how the harness replays by default;
* ``harness``         — ``Harness.run`` as a test calls it (in-process): load and check the
  fixture, open a runtime on a fresh temporary SQLite store, add the connection, run, read the logs;
* ``harness sandboxed`` — the same with ``isolation="process"`` (a zygote started per test).

Goal (issue 16): replay ≥ 5× faster than live. In the sandboxed child each of the 100 calls
is a round trip between two processes (~0.15 ms on 2 cores), which the in-process replay does
not pay.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from _common import demo_server, interleaved, machine, parser, project, summary, table

from splice._clock import ManualClock
from splice.runtime import Runtime
from splice.testing import (
    Harness,
    RecordingTransport,
    ReplayTransport,
    credentials_before,
    load_fixture,
    record_fixture,
    write_fixture,
)

GOAL = 5.0
CALLS = 100
ACME = f"""
from splice import Integration, auth

acme = Integration("acme", base_url="{{config.api_url}}/api", auth=auth.ApiKey(in_="header", name="X-API-Key"))


@acme.action
async def hundred(ctx, input):
    for _ in range({CALLS}):
        await ctx.api.get("/whoami")
    return {{"calls": {CALLS}}}
"""


async def main(n: int, warmup: int) -> None:
    with demo_server() as url, project({"acme.py": ACME}) as root, tempfile.TemporaryDirectory() as tmp:
        fixture = Path(tmp) / "hundred.json"
        recorder = RecordingTransport()
        live = await Runtime.open(root, transport=recorder)
        await live.connections.add("acme", "c1", {"api_key": "demo-key"}, config={"api_url": url})
        before = await credentials_before(live, "acme.hundred", "c1")
        started = live.clock.now()
        first = await live.run("acme.hundred", connection="c1")
        made, secrets = await record_fixture(live, recorder, first, started, before)
        write_fixture(made, fixture, secrets)
        loaded = load_fixture(fixture)
        transport = ReplayTransport(loaded)
        replays = {}
        for isolation in ("process", "none"):
            rt = await Runtime.open(root, database_url=f"sqlite:///{tmp}/{isolation}.db", isolation=isolation,
                                    transport=transport, clock=ManualClock(loaded.recorded_at))  # fmt: skip
            await rt.connections.add("acme", "c1", loaded.connection["credentials"], config={"api_url": url})
            replays[isolation] = rt

        async def run_live() -> None:
            recorder.clear()
            await check(live.run("acme.hundred", connection="c1"))

        def replay(isolation: str) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                transport.used = [False] * len(loaded.exchanges)
                await check(replays[isolation].run("acme.hundred", connection="c1"))

            return run

        def harness(isolation: str) -> Callable[[], Awaitable[None]]:
            one = Harness(root, isolation=isolation)

            async def run() -> None:
                result = await one.run("acme.hundred", fixture=fixture)
                assert result.status == "succeeded", result.error

            return run

        try:
            calls = {"live": run_live, "replay sandboxed": replay("process"), "replay in-process": replay("none"),
                     "harness": harness("none"), "harness sandboxed": harness("process")}  # fmt: skip
            samples, wall = await interleaved(calls, n, warmup)
        finally:
            await live.close()
            for rt in replays.values():
                await rt.close()
    report(samples, n, warmup, wall)


async def check(run: object) -> None:
    record = await run  # type: ignore[misc]
    if record.status != "succeeded":
        raise RuntimeError(f"run {record.status}: {record.error}")


def report(samples: dict[str, list[float]], n: int, warmup: int, wall: float) -> None:
    stats = {mode: {k: v / 1000 for k, v in summary(xs).items()} for mode, xs in samples.items()}
    live = stats["live"]["p50"]
    rows = [[mode, s["mean"], s["p50"], s["p90"], live / s["p50"]] for mode, s in stats.items()]
    print(f"\nan action making {CALLS} requests, {n} runs per mode after {warmup} warm-up runs "
          f"({wall:.1f} s in all), {machine()}")  # fmt: skip
    print(table(["mode", "mean ms", "p50 ms", "p90 ms", "live p50 ÷ p50"], rows))
    for mode in ("replay in-process", "replay sandboxed"):
        ratio = live / stats[mode]["p50"]
        verdict = "ok" if ratio >= GOAL else "MISSED"
        print(f"goal: {mode} ≥ {GOAL:g}× faster than live — measured {ratio:.1f}×: {verdict}")


if __name__ == "__main__":
    p = parser(__doc__.splitlines()[0], n=20)
    p.add_argument("--warmup", type=int, default=3, help="unmeasured runs per mode first (default 3)")
    args = p.parse_args()
    asyncio.run(main(args.n, args.warmup))
