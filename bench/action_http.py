"""Latency of ``POST /actions/bench/noop`` (wait for the result) through ``splice serve``, one request at a time.

    .venv/bin/python bench/action_http.py [--n 500] [--warmup 30]

An ``aiohttp`` client in this process sends sequential POSTs (``{"input": {"i": 1}}``, a bearer
token, one keep-alive connection per server) to servers each in its own process, started as
in ``webhooks.py`` (same uvicorn settings):

* ``floor``            — a bare Starlette endpoint answering ``{"ok": true}``: the baseline;
* ``floor-apiserver``  — the same app through ``splice.server.ApiServer`` (who binds the socket differs);
* ``child``            — ``splice serve`` (process isolation, the default): the goal is about this row;
* ``in-process``       — ``splice serve --in-process``;
* ``GET (no run)``     — ``GET /integrations/bench`` on another ``splice serve``: routing, the token
  check (one indexed read) and a small JSON answer, no run: the server's fixed cost per request;
* ``run (child)``, ``run (in-process)`` — ``await runtime.run("bench.noop")`` in this process,
  no HTTP (what ``action_overhead.py`` measures), for where the time goes.

Modes are interleaved request by request after ``--warmup`` requests each, so machine noise
hits all alike. The action has no auth and no I/O: ``async def noop(ctx, input): return {...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from _common import interleaved, machine, parser, project, summary, table
from webhooks import TRIGGER, floor_server, splice_server

from splice.runtime import Runtime

GOAL_P50_MS = 15.0
BODY = {"input": {"i": 1}}

Call = Callable[[], Awaitable[Any]]


async def token_for(root: Path) -> str:
    """A fresh bearer token in ``root``'s store (before its server starts)."""
    rt = await Runtime.open(root, isolation="none")
    try:
        _, secret = await rt.store.tokens.create("bench")
        return secret
    finally:
        await rt.close()


def http_call(session: aiohttp.ClientSession, url: str, token: str, method: str = "POST") -> Call:
    headers = {"Authorization": f"Bearer {token}"}
    payload = BODY if method == "POST" else None

    async def call() -> Any:
        async with session.request(method, url, json=payload, headers=headers) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"{url} answered {resp.status}: {body}")
            return body

    return call


def run_call(rt: Runtime) -> Call:
    async def call() -> Any:
        run = await rt.run("bench.noop", input=BODY["input"])
        if run.status != "succeeded":
            raise RuntimeError(f"{rt.isolation} run {run.status}: {run.error}")
        return run.output

    return call


async def main(n: int, warmup: int) -> None:
    with contextlib.ExitStack() as stack:
        modes = ("child", "in-process", "GET (no run)", "run")
        roots = {mode: stack.enter_context(project({"bench.py": TRIGGER})) for mode in modes}
        tokens = {mode: await token_for(roots[mode]) for mode in modes[:3]}
        servers = {
            "floor": stack.enter_context(floor_server()),
            "floor-apiserver": stack.enter_context(floor_server(own_socket=True)),
            "child": stack.enter_context(splice_server(roots["child"], in_process=False)),
            "in-process": stack.enter_context(splice_server(roots["in-process"], in_process=True)),
            "GET (no run)": stack.enter_context(splice_server(roots["GET (no run)"], in_process=False)),
        }
        paths = dict.fromkeys(servers, "/actions/bench/noop") | {"GET (no run)": "/integrations/bench"}
        run_child = await Runtime.open(roots["run"], isolation="process")
        run_inproc = await Runtime.open(roots["run"], isolation="none")
        sessions = [aiohttp.ClientSession() for _ in servers]
        try:
            calls: dict[str, Call] = {}
            for (mode, server), session in zip(servers.items(), sessions, strict=True):
                method = "GET" if mode.startswith("GET") else "POST"
                calls[mode] = http_call(session, server.url + paths[mode], tokens.get(mode, "unused"), method)
            calls["run (child)"] = run_call(run_child)
            calls["run (in-process)"] = run_call(run_inproc)
            samples, wall = await interleaved(calls, n, warmup)
        finally:
            for session in sessions:
                await session.close()
            await run_inproc.close()
            await run_child.close()
    report(samples, n, warmup, wall)


HEADERS = ["mode", "mean ms", "p50 ms", "p90 ms", "p99 ms", "max ms", "p50 × floor", "p99 × floor"]


def report(samples: dict[str, list[float]], n: int, warmup: int, wall: float) -> None:
    stats = {mode: {k: v / 1000 for k, v in summary(xs).items()} for mode, xs in samples.items()}
    floor = stats["floor"]
    rows: list[list[Any]] = []
    for mode, xs in samples.items():
        s = stats[mode]
        rows.append([mode, s["mean"], s["p50"], s["p90"], s["p99"], max(xs) * 1000,
                     s["p50"] / floor["p50"], s["p99"] / floor["p99"]])  # fmt: skip
    print(
        f"\nPOST /actions/bench/noop, wait for the result, {n} sequential requests per mode after {warmup} "
        f"warm-up requests ({wall:.1f} s in all), {machine()}"
    )
    print(table(HEADERS, rows))
    child = stats["child"]["p50"]
    verdict = "ok" if child <= GOAL_P50_MS else "MISSED"
    print(f"goal: splice serve (child) p50 ≤ {GOAL_P50_MS:g} ms — measured {child:.2f} ms "
          f"(p99 {stats['child']['p99']:.2f} ms): {verdict}")  # fmt: skip
    http = child - stats["run (child)"]["p50"]
    print(f"HTTP + server around the run: {http:.2f} ms (child p50 − run (child) p50)")


if __name__ == "__main__":
    p = parser(__doc__.splitlines()[0], n=500)
    p.add_argument("--warmup", type=int, default=30, help="unmeasured requests per mode first (default 30)")
    args = p.parse_args()
    asyncio.run(main(args.n, args.warmup))
