"""Webhook throughput under load: ``POST /webhooks/bench/hook`` (a trivial trigger) driven by wrk.

    .venv/bin/python bench/webhooks.py [--duration 10] [--connections 64] [--threads 2] [--rounds 1] [--modes ...]

Needs ``wrk`` (``apt-get install -y wrk``; ``make bench`` installs it when missing). Every server
runs in its own process with the same uvicorn settings (``splice.server.ApiServer``'s
``uvicorn.Config``: uvicorn in the asyncio loop, httptools, one worker, access log off, log level
warning, no lifespan):

* ``floor``            — a bare Starlette app answering ``{"ok": true}`` to any POST, no work,
  uvicorn binding its listening socket itself: the baseline;
* ``floor-apiserver``  — the same app served through ``ApiServer`` exactly as ``splice serve``
  serves splice (``ApiServer`` binds the socket and hands it to uvicorn): only that differs;
* ``child``            — ``splice serve`` on a throwaway project (process isolation, the default):
  every request stores a run, forks a child from the zygote, runs the trigger, stores the outcome;
* ``in-process``       — ``splice serve --in-process``: the same without the child.

The trigger is ``async def hook(ctx, request): return None`` (answers ``200 {"ok": true}``); the
body is a small JSON object. Each server gets an unmeasured ``--warmup`` seconds of the same
load first; wrk waits up to 30 s for an answer (a slower one counts as a timeout error and
is left out of the latencies). On a 2-core machine wrk shares the cores with the server: the
floor is what this machine serves with wrk running beside it, not the server's own limit.
"server CPU" is the server process and its descendants (the zygote, and the children it reaped).

The helpers here (servers in their own processes, wrk) are shared with ``action_http.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import free_port, machine, project, table

GOAL_RPS = 1000.0
GOAL_P99_MS = 50.0

TRIGGER = """
from splice import Integration

bench = Integration("bench", base_url="http://127.0.0.1")


@bench.trigger()
async def hook(ctx, request):
    return None


@bench.action
async def noop(ctx, input):
    return {"ok": True, "echo": input}
"""

WRK_POST = """
wrk.method = "POST"
wrk.body = '{"id": "evt_1", "type": "contact.updated", "data": {"id": 42}}'
wrk.headers["Content-Type"] = "application/json"
"""

WRK_MISSING = "wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu), `brew install wrk`, or `make bench`"


# --------------------------------------------------------------------------- servers


def floor_app() -> Any:
    """The baseline: Starlette answering ``{"ok": true}`` to anything, after reading the body."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def ok(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/{path:path}", ok, methods=["GET", "POST"])])


def serve_floor(port: int, *, own_socket: bool) -> None:
    """Serve :func:`floor_app` with splice's uvicorn settings (``ApiServer``'s ``uvicorn.Config``) until killed.

    ``own_socket``: through ``ApiServer`` exactly as ``splice serve`` does (it binds the listening
    socket itself and hands it to uvicorn); otherwise uvicorn binds it (``loop.create_server``),
    the baseline.
    """
    from splice.server import ApiServer

    server = ApiServer(floor_app(), "127.0.0.1", port)
    if own_socket:
        asyncio.run(server.run_forever())
    else:
        server.socket.close()
        asyncio.run(server.serve())


@dataclass
class Server:
    url: str
    pid: int

    def cpu(self) -> float:
        """CPU seconds used so far by this process and its descendants (those alive, and those reaped)."""
        return sum(_cpu(pid, children=pid != self.pid) for pid in _tree(self.pid))


def _tree(root: int) -> list[int]:
    pids, parents = [root], {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
    for pid in pids:
        pids += [child for child, parent in parents.items() if parent == pid]
    return pids


def _cpu(pid: int, *, children: bool) -> float:
    """utime + stime (+ cutime + cstime: reaped children) of ``pid`` in seconds; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(f) for f in fields[11 : 15 if children else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def running(cmd: list[str], port: int, name: str) -> Iterator[Server]:
    """Start ``cmd`` (a server listening on ``port``); yield it once it accepts connections."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"{name} server exited ({proc.returncode}):\n{log.read().decode()[-2000:]}")
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} server did not listen on port {port} within 60 s")
                time.sleep(0.05)
            yield Server(f"http://127.0.0.1:{port}", proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def floor_server(*, own_socket: bool = False) -> Iterator[Server]:
    """:func:`serve_floor` in its own process."""
    port = free_port()
    cmd = [sys.executable, __file__, "--serve-floor-apiserver" if own_socket else "--serve-floor", str(port)]
    with running(cmd, port, "floor") as server:
        yield server


@contextlib.contextmanager
def splice_server(root: Path, *, in_process: bool) -> Iterator[Server]:
    """``splice serve --project ROOT --port P`` (``--in-process`` when asked) in its own process."""
    port = free_port()
    cmd = [sys.executable, "-c", "from splice.cli import main; main()", "serve", "--project", str(root)]
    cmd += ["--port", str(port), "--id", f"bench-{port}"]
    cmd += ["--in-process"] if in_process else []
    with running(cmd, port, "splice") as server:
        yield server


# --------------------------------------------------------------------------- wrk


@dataclass
class WrkResult:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: str  # non-2xx answers and socket errors ("timeout 3" = 3 requests took over 30 s), "" when none


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def parse_wrk(out: str) -> WrkResult:
    """Requests/s, latency percentiles and errors from ``wrk --latency`` output."""
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    max_ms = re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", out, re.MULTILINE)
    errors = [f"non-2xx {n}" for n in re.findall(r"^\s*Non-2xx or 3xx responses: (\d+)", out, re.MULTILINE)]
    sockets = re.search(r"^\s*Socket errors: (.*)$", out, re.MULTILINE)
    errors += [e for e in (sockets.group(1).split(", ") if sockets else []) if not e.endswith(" 0")]
    return WrkResult(
        requests=int(re.search(r"^\s+(\d+) requests in", out, re.MULTILINE).group(1)),  # type: ignore[union-attr]
        rps=float(re.search(r"^Requests/sec:\s+([\d.]+)", out, re.MULTILINE).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(latency["50"]),
        p99_ms=_ms(latency["99"]),
        max_ms=_ms(max_ms.group(1)) if max_ms else float("nan"),
        errors="; ".join(errors),
    )


def need_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit(WRK_MISSING)
    return wrk


def wrk(url: str, *, threads: int, connections: int, seconds: float, script: Path, timeout: float = 30) -> WrkResult:
    """``wrk --latency``; a request slower than ``timeout`` is an error, and left out of the latencies."""
    cmd = [need_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", f"--timeout={timeout:g}s", "--latency"]
    cmd += ["-s", str(script), url]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    try:
        return parse_wrk(done.stdout)
    except (AttributeError, KeyError):
        raise RuntimeError(f"unexpected wrk output:\n{done.stdout}{done.stderr}") from None


# --------------------------------------------------------------------------- benchmark

MODES = ("floor", "floor-apiserver", "child", "in-process")


def server_for(mode: str, roots: dict[str, Path]) -> contextlib.AbstractContextManager[Server]:
    """The server process behind ``mode`` (one of :data:`MODES`)."""
    if mode.startswith("floor"):
        return floor_server(own_socket=mode == "floor-apiserver")
    return splice_server(roots[mode], in_process=mode == "in-process")


def main(args: argparse.Namespace) -> None:
    need_wrk()
    modes = [m.strip() for m in args.modes.split(",")]
    if set(modes) - set(MODES) or "floor" not in modes:
        sys.exit(f"--modes: a comma-separated subset of {','.join(MODES)} that includes floor, not {args.modes!r}")
    results: dict[str, list[tuple[WrkResult, float]]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory(prefix="splice-bench-wrk-") as tmp, contextlib.ExitStack() as stack:
        script = Path(tmp) / "post.lua"
        script.write_text(WRK_POST)
        roots = {mode: stack.enter_context(project({"bench.py": TRIGGER})) for mode in ("child", "in-process")}
        kw: dict[str, Any] = {"threads": args.threads, "connections": args.connections, "script": script}
        started = time.perf_counter()
        for r in range(args.rounds):
            for mode in modes:
                with server_for(mode, roots) as server:
                    url = server.url + ("/webhook" if mode.startswith("floor") else "/webhooks/bench/hook")
                    if args.warmup > 0:
                        wrk(url, seconds=args.warmup, **kw)
                    cpu0 = server.cpu()
                    result = wrk(url, seconds=args.duration, **kw)
                    cpu = server.cpu() - cpu0
                results[mode].append((result, cpu))
                print(f"round {r + 1} {mode:<15} {result.rps:>7,.0f} req/s  p99 {result.p99_ms:7.2f} ms"
                      + (f"  ERRORS: {result.errors}" if result.errors else ""), flush=True)  # fmt: skip
        wall = time.perf_counter() - started
    report(results, args, wall)


HEADERS = ["server", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "server CPU", "CPU ms/req",
           "req/s × floor", "p99 × floor", "errors"]  # fmt: skip


def report(results: dict[str, list[tuple[WrkResult, float]]], args: argparse.Namespace, wall: float) -> None:
    rows: list[list[Any]] = []
    for r in range(args.rounds):
        floor = results["floor"][r][0]
        for mode, runs in results.items():
            x, cpu = runs[r]
            name = mode if args.rounds == 1 else f"{mode} (round {r + 1})"
            rows.append([name, x.requests, x.rps, x.p50_ms, x.p99_ms, x.max_ms, f"{cpu / args.duration:.0%}",
                         1000 * cpu / max(1, x.requests), x.rps / floor.rps, x.p99_ms / floor.p99_ms,
                         x.errors or "-"])  # fmt: skip
    print(
        f"\nPOST /webhooks/bench/hook (trivial trigger), wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration:g}s after {args.warmup:g} s warm-up, {args.rounds} round(s) ({wall:.0f} s in all), "
        f"{machine()}"
    )
    print(table(HEADERS, rows))
    print("server CPU: the server process and its descendants (zygote, reaped children), in core-seconds per second")
    for mode in ("child", "in-process"):
        if mode not in results:
            continue
        rps = min(x.rps for x, _ in results[mode])
        p99 = max(x.p99_ms for x, _ in results[mode])
        verdict = "ok" if rps >= GOAL_RPS and p99 < GOAL_P99_MS else "MISSED"
        print(f"goal ({mode}): ≥ {GOAL_RPS:,.0f} req/s and p99 < {GOAL_P99_MS:g} ms — "
              f"worst round {rps:,.0f} req/s, p99 {p99:.1f} ms: {verdict}")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1].startswith("--serve-floor"):  # a floor server's own process
        serve_floor(int(sys.argv[2]), own_socket=sys.argv[1] == "--serve-floor-apiserver")
        sys.exit(0)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=10, help="measured seconds per server (default 10)")
    p.add_argument("--warmup", type=float, default=2, help="unmeasured seconds of load first (default 2)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--rounds", type=int, default=1, help="rounds over the servers (default 1)")
    p.add_argument("--modes", default=",".join(MODES), help=f"servers, comma-separated (default {','.join(MODES)})")
    os.environ.pop("SPLICE_DATABASE_URL", None)
    main(p.parse_args())
