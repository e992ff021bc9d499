"""Shared helpers for the benchmark scripts: a demo API process, throwaway projects, stats, tables.

Not a test module and not part of the package: the scripts in ``bench/`` import it by name
because ``python bench/<name>.py`` puts ``bench/`` first on ``sys.path``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import date
from pathlib import Path

SPLICE_TOML = """\
[project]
name = "bench"

[runtime]
time_limit = 600
"""


def parser(description: str, n: int) -> argparse.ArgumentParser:
    """An argument parser with the ``--n`` every script takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--n", type=int, default=n, help=f"measured iterations (default {n})")
    return p


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def demo_server() -> Iterator[str]:
    """``python -m splice.demo.server`` in its own process (its CPU does not share our GIL); yields its URL."""
    with url_process([sys.executable, "-m", "splice.demo.server", "--port", str(free_port())]) as url:
        yield url


@contextlib.contextmanager
def url_process(cmd: list[str]) -> Iterator[str]:
    """A server process that prints its URL once it listens; yields the URL, then stops it."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()  # "" if it died
        if not line.startswith("http"):
            raise RuntimeError(f"{cmd[1:3]} did not start (got {line!r}, exit {proc.poll()})")
        yield line
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def project(modules: dict[str, str], runtime: str = "") -> Iterator[Path]:
    """A throwaway project (splice.toml + ``integrations/``) whose SQLite store lives in a temp dir;
    ``runtime``: extra lines for its ``[runtime]`` section."""
    with tempfile.TemporaryDirectory(prefix="splice-bench-") as tmp:
        root = Path(tmp) / "project"
        package = root / "integrations"
        package.mkdir(parents=True)
        (root / "splice.toml").write_text(SPLICE_TOML + runtime)
        (package / "__init__.py").write_text("")
        for name, source in modules.items():
            (package / name).write_text(textwrap.dedent(source))
        os.environ.pop("SPLICE_DATABASE_URL", None)  # always the project's own SQLite file
        yield root


async def interleaved(
    calls: dict[str, Callable[[], Awaitable[object]]], n: int, warmup: int
) -> tuple[dict[str, list[float]], float]:
    """Time ``n`` calls of each, after ``warmup`` unmeasured rounds, one of each in turn (so the
    machine's noise hits every mode alike); per-mode seconds and the wall time of it all."""
    samples: dict[str, list[float]] = {mode: [] for mode in calls}
    started = time.perf_counter()
    for i in range(warmup + n):
        for mode, call in calls.items():
            t0 = time.perf_counter()
            await call()
            if i >= warmup:
                samples[mode].append(time.perf_counter() - t0)
    return samples, time.perf_counter() - started


def pct(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), nearest rank."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(samples: Sequence[float]) -> dict[str, float]:
    """mean/p50/p90/p99 of ``samples`` (seconds) in microseconds."""
    return {
        "mean": statistics.fmean(samples) * 1e6,
        "p50": pct(samples, 50) * 1e6,
        "p90": pct(samples, 90) * 1e6,
        "p99": pct(samples, 99) * 1e6,
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: first column left-aligned, the others (numbers) right-aligned."""
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = [_line(headers, widths), "  ".join("-" * w for w in widths)]
    lines += [_line(row, widths) for row in cells]
    return "\n".join(lines)


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def machine() -> str:
    """Interpreter, cores and the load average when the figures were taken (other work skews them)."""
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"Python {platform.python_version()}, {os.cpu_count()} cores, load avg {load}, {date.today()}"
