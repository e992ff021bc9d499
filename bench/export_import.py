"""An export streamed into an import by a flow: 100,000 records of ~1 KB, end to end, against a floor and dlt.

    .venv/bin/python bench/export_import.py [--records 100000] [--rounds 3] [--no-postgres] [--no-dlt]

The source and the sink are ``bench/_loopback.py`` in a process of their own (its CPU does not
share our GIL): ``GET /records?page=N&size=1000`` serves pre-encoded pages of ~1 KB records,
``POST /contacts`` takes a JSON list (one batch) and answers ``[{"id": ...}]``. Measured, in
records/s = records ÷ the wall time from the start until the last batch is acknowledged (for
splice: until ``rt.flows.run`` returns the stored flow run, a few ms after the last ack):

* ``floor``: a bare ``aiohttp`` loop in this process: GET a page, ``orjson.loads``, map every
  record with plain dict building (the same fields as the mapping), ``orjson.dumps``, POST the
  batch of 1,000; one page after the other;
* ``splice``: ``rt.flows.run("crm.copy")``, a flow ``step.export("Pull", "records",
  then=[step.import_("Push", "erp.contacts")])``: every page of the export a child run (its
  durable checkpoint), every page's import a run in the sandboxed child (``isolation="process"``)
  mapping the 1,000 records with 7 JSONata fields + a static one and POSTing them in one batch;
  on SQLite (the embedded default) and on PostgreSQL (a throwaway database; skipped when the
  server does not answer);
* ``splice with hooks``: the same import with a ``pre_map`` hook (trims ``first_name``) and a
  ``post_map`` hook (adds a field), Celigo's shapes, run in the child;
* ``dlt``: dlt 1.31's ``rest_api`` source, page-number paginator, into duckdb, in its own venv
  (``~/.cache/splice-bench/dlt``, installed the first time). It extracts and loads only: nothing
  is POSTed to the sink. Default settings, and "tuned": ``loader_file_format="jsonl"``,
  ``DATA_WRITER__DISABLE_COMPRESSION=true`` and ``DATA_WRITER__BUFFER_MAX_ITEMS=100000``
  (parquet would need pyarrow, which is not installed there).

Median of ``--rounds`` rounds after one warm-up round on a 10,000-record loopback (dlt: one run
of each variant after a warm-up). Also: the mapping alone (``run_mapping`` over 10,000 records,
in-process, ``StaticLookups({})``, timed by ``bench/mapping.py``'s ``throughput``), and the one
bad record check: a loopback of 10,000 records where record 4242 is refused (422), an import with
``batch_size=1``: one record error, 9,999 imported, then ``rt.imports.retry_errors`` with the
email fixed makes one more call and the sink holds 10,000.

Goals (issue 14): ≥ 20,000 records/s plain, ≥ 8,000 with hooks, the mapping ≥ 50,000 records/s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from _common import machine, project, table, url_process
from _loopback import record
from mapping import throughput

from flows import postgres_database
from splice.resources import Field, Import, Mapping, StaticLookups
from splice.runtime import Runtime

PAGE = 1000
WARMUP_RECORDS = 10_000
BAD_RECORDS, BAD_INDEX = 10_000, 4242
GOAL_PLAIN, GOAL_HOOKS, GOAL_MAPPING = 20_000, 8_000, 50_000
DLT_VENV = Path.home() / ".cache" / "splice-bench" / "dlt"
HERE = Path(__file__).resolve().parent

#: the import's mapping, as the project's module declares it (and this script evaluates it)
MAPPING_SOURCE = """Mapping(
    fields=(
        Field(generate="external_id", extract="id"),
        Field(generate="email", extract="$lowercase(email)"),
        Field(generate="name", extract="first_name & ' ' & last_name"),
        Field(generate="company", extract="company.name"),
        Field(generate="revenue", extract="company.revenue", data_type="number"),
        Field(generate="tags", extract="tags", data_type="stringarray"),
        Field(generate="updated_at", extract="updated_at"),
    ),
    static={"source": "crm"},
)"""
MAPPING: Mapping = eval(MAPPING_SOURCE, {"Mapping": Mapping, "Field": Field})

#: one source/sink pair of integrations; {src}/{dst} are their names, {url} the loopback
PAIR = """
{src} = Integration("{src}", base_url="{url}")
{dst} = Integration("{dst}", base_url="{url}")


@{dst}.hook()
def trim(options):
    return [{{"data": {{**r, "first_name": r["first_name"].strip()}}}} for r in options["data"]]


@{dst}.hook()
def stamp(options):
    return [{{"data": {{**r, "imported_by": "splice"}}}} for r in options["post_map_data"]]


{src}.export("records", path="/records", query={{"page": "{{{{ paging.page }}}}", "size": "{page}"}},
             records_path="items", page_size={page}, paging=Paging(method="page", start=0))
{dst}.import_("contacts", path="/contacts", batch_size={page}, mapping=MAPPING)
{dst}.import_("contacts_hooks", path="/contacts", batch_size={page}, mapping=MAPPING,
              hooks={{"pre_map": trim, "post_map": stamp}})
{dst}.import_("contacts_each", path="/contacts", batch_size=1, response_id_path="id", mapping=MAPPING)
{src}.flow("copy", steps=[step.export("Pull", "records", then=[step.import_("Push", "{dst}.contacts")])])
{src}.flow("copy_hooks", steps=[step.export("Pull", "records", then=[step.import_("Push", "{dst}.contacts_hooks")])])
{src}.flow("copy_each", steps=[step.export("Pull", "records", then=[step.import_("Push", "{dst}.contacts_each")])])
"""

HEADER = f"""
from splice import Integration, step
from splice.resources import Field, Mapping, Paging

MAPPING = {MAPPING_SOURCE}
"""


def module(pairs: dict[str, tuple[str, str]]) -> str:
    """The project's module: ``pairs`` maps a loopback URL to its (source, sink) integration names."""
    return HEADER + "".join(PAIR.format(src=s, dst=d, url=url, page=PAGE) for url, (s, d) in pairs.items())


@contextlib.contextmanager
def loopback(records: int, bad: tuple[int, ...] = ()) -> Iterator[str]:
    """``bench/_loopback.py`` in its own process; yields its URL."""
    cmd = [sys.executable, str(HERE / "_loopback.py"), "--records", str(records), "--port", "0"]
    with url_process(cmd + (["--bad", *map(str, bad)] if bad else [])) as url:
        yield url


async def sink(session: aiohttp.ClientSession, url: str, what: str) -> dict[str, int]:
    """``/stats`` (``what="stats"``, a GET) or ``/reset`` (a POST) of the loopback's sink."""
    method = session.get if what == "stats" else session.post
    async with method(f"{url}/{what}") as response:
        return dict(await response.json())


async def prime(session: aiohttp.ClientSession, url: str, total: int) -> None:
    """Fetch every page once, untimed: the loopback encodes a page on its first request only."""
    for page in range(total // PAGE + 1):
        async with session.get(f"{url}/records", params={"page": str(page), "size": str(PAGE)}) as response:
            await response.read()


# --- floor -------------------------------------------------------------------------------------


def mapped(r: dict[str, Any]) -> dict[str, Any]:
    """The mapping in plain Python (what ``MAPPING`` makes of a record)."""
    return {"source": "crm", "external_id": r["id"], "email": r["email"].lower(),
            "name": r["first_name"] + " " + r["last_name"], "company": r["company"]["name"],
            "revenue": float(r["company"]["revenue"]), "tags": [str(t) for t in r["tags"]],
            "updated_at": r["updated_at"]}  # fmt: skip


async def floor(session: aiohttp.ClientSession, url: str, total: int) -> float:
    await sink(session, url, "reset")
    started = time.perf_counter()
    page = 0
    while True:
        async with session.get(f"{url}/records", params={"page": str(page), "size": str(PAGE)}) as response:
            items = orjson.loads(await response.read())["items"]
        if not items:
            break
        body = orjson.dumps([mapped(r) for r in items])
        async with session.post(f"{url}/contacts", data=body, headers={"Content-Type": "application/json"}) as sent:
            sent.raise_for_status()
            await sent.read()
        page += 1
    took = time.perf_counter() - started
    stats = await sink(session, url, "stats")
    assert stats["records"] == total, stats
    return took


# --- splice ------------------------------------------------------------------------------------


async def splice_flow(rt: Runtime, session: aiohttp.ClientSession, url: str, flow: str, total: int) -> float:
    await sink(session, url, "reset")
    started = time.perf_counter()
    run = await rt.flows.run(flow, connection="c1")
    took = time.perf_counter() - started
    if run.status != "succeeded":
        raise RuntimeError(f"{flow}: {run.status}: {run.error}")
    stats = await sink(session, url, "stats")
    if stats["records"] != total:
        raise RuntimeError(f"{flow}: the sink holds {stats['records']} records, not {total} ({run.output})")
    return took


async def open_runtime(root: Path, database_url: str | None) -> Runtime:
    rt = await Runtime.open(root, isolation="process", database_url=database_url)
    for integration in ("crm", "erp", "crmw", "erpw", "crmb", "erpb"):
        await rt.connections.add(integration, "c1", {})
    return rt


async def bad_record_check(rt: Runtime, session: aiohttp.ClientSession, url: str) -> list[str]:
    """One refused record among 10,000: one record error, 9,999 imported, then retried alone."""
    await sink(session, url, "reset")
    run = await rt.flows.run("crmb.copy_each", connection="c1")
    lines = [f"flow run {run.status}, output {run.output}"]
    steps = await rt.runs.find(parent_id=run.id, limit=1000)
    errors_by_run = {s.id: await rt.runs.errors(s.id) for s in steps if s.step and s.step.endswith("/Push")}
    failing = {rid: errs for rid, errs in errors_by_run.items() if errs}
    total_errors = sum(len(errs) for errs in failing.values())
    before = await sink(session, url, "stats")
    lines.append(f"import step runs: {len(errors_by_run)}; record errors: {total_errors} "
                 f"(in {len(failing)} run); sink after the run: {before['records']:,} records "
                 f"in {before['batches']:,} calls")  # fmt: skip
    ok = total_errors == 1 and before["records"] == BAD_RECORDS - 1
    if len(failing) == 1:
        (run_id, (error,)) = next(iter(failing.items()))
        data = error.retry_data["data"]
        fixed = {**data, "post_map_data": {**data["post_map_data"], "email": f"fixed{BAD_INDEX}@example.com"}}
        lines.append(f"the error: stage {error.retry_data['stage']}, {error.message[:100]!r}")
        outcomes = await rt.imports.retry_errors(run_id, data={error.id: fixed})
        after = await sink(session, url, "stats")
        calls = after["batches"] - before["batches"]
        left = await rt.runs.errors(run_id, status="open")
        lines.append(f"retry_errors: {len(outcomes)} run, {after['records'] - before['records']} record in "
                     f"{calls} call; sink now {after['records']:,} records; open errors left: {len(left)}")  # fmt: skip
        ok = ok and calls == 1 and after["records"] == BAD_RECORDS and not left
    lines.append("one bad record check: " + ("ok" if ok else "FAILED"))
    return lines


# --- dlt ---------------------------------------------------------------------------------------

DLT = """
import json, os, sys, tempfile, time
import dlt, duckdb
from dlt.sources.rest_api import rest_api_source

url, total, page, tuned = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "tuned"


def source(pages):
    return rest_api_source({
        "client": {"base_url": url, "paginator": {"type": "page_number", "base_page": 0, "page_param": "page",
                                                 "total_path": None, "maximum_page": pages}},
        "resource_defaults": {"endpoint": {"params": {"size": page}}},
        "resources": [{"name": "records", "endpoint": {"path": "records", "data_selector": "items"}}],
    })


def once(n, pages):
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "dest.duckdb")
        pipeline = dlt.pipeline(pipeline_name=f"bench{n}", destination=dlt.destinations.duckdb(db),
                                dataset_name="loaded", pipelines_dir=os.path.join(tmp, "pipelines"))
        started = time.perf_counter()
        pipeline.run(source(pages), loader_file_format="jsonl" if tuned else None)
        took = time.perf_counter() - started
        with duckdb.connect(db) as con:
            count = con.execute("select count(*) from loaded.records").fetchone()[0]
    return took, count


once(0, 2)  # warm-up, two pages: imports, first-run set-up
took, count = once(1, total // page)
print("RESULT " + json.dumps({"seconds": took, "count": count}), flush=True)
"""


def dlt_python() -> Path:
    python = DLT_VENV / "bin" / "python"
    check = [str(python), "-c", "import dlt, duckdb"]
    if not python.exists() or subprocess.run(check, capture_output=True).returncode != 0:
        print("installing dlt[duckdb] 1.31 into", DLT_VENV, "(once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(DLT_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "dlt[duckdb]>=1.31,<1.32"], check=True)
    return python


def dlt_run(url: str, total: int, variant: str) -> float:
    python = dlt_python()
    with tempfile.TemporaryDirectory() as home:
        script = Path(home) / "dlt_bench.py"
        script.write_text(DLT)
        env = {**os.environ, "HOME": home, "RUNTIME__LOG_LEVEL": "CRITICAL", "DLT_DATA_DIR": home,
               "RUNTIME__DLTHUB_TELEMETRY": "false"}  # fmt: skip
        if variant == "tuned":
            env.update(DATA_WRITER__DISABLE_COMPRESSION="true", DATA_WRITER__BUFFER_MAX_ITEMS="100000")
        done = subprocess.run([str(python), str(script), url, str(total), str(PAGE), variant], capture_output=True,
                              text=True, timeout=900, env=env)  # fmt: skip
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line.removeprefix("RESULT "))
            if result["count"] != total:
                raise RuntimeError(f"dlt loaded {result['count']} rows, not {total}")
            return float(result["seconds"])
    raise RuntimeError(f"dlt ({variant}) gave no result: {done.stdout[-500:]} {done.stderr[-2000:]}")


# --- main --------------------------------------------------------------------------------------


def mapping_alone() -> float:
    import_ = Import(name="contacts", integration="erp", path="/contacts", batch_size=PAGE, mapping=MAPPING)
    rows = [record(i, frozenset()) for i in range(10_000)]
    return throughput(import_, rows, StaticLookups({}))


async def rounds(
    samples: dict[str, list[float]], calls: dict[str, Callable[[], Awaitable[float]]], n: int
) -> None:  # fmt: skip
    for i in range(n):
        for name, call in calls.items():
            took = await call()
            samples.setdefault(name, []).append(took)
            print(f"  round {i + 1}: {name}: {took:.2f} s", flush=True)


async def main(total: int, n: int, postgres: bool, dlt: bool, mapping_rate: float) -> None:
    samples: dict[str, list[float]] = {}
    notes: list[str] = []
    bad_lines: list[str] = []
    with (
        loopback(total) as url,
        loopback(WARMUP_RECORDS) as warm,
        loopback(BAD_RECORDS, (BAD_INDEX,)) as bad,
        project({"transfers.py": module({url: ("crm", "erp"), warm: ("crmw", "erpw"), bad: ("crmb", "erpb")})}) as root,
    ):
        async with aiohttp.ClientSession() as session:
            for each, count in ((url, total), (warm, WARMUP_RECORDS), (bad, BAD_RECORDS)):
                await prime(session, each, count)
            await floor(session, warm, WARMUP_RECORDS)
            rt = await open_runtime(root, None)
            try:
                await splice_flow(rt, session, warm, "crmw.copy", WARMUP_RECORDS)
                await splice_flow(rt, session, warm, "crmw.copy_hooks", WARMUP_RECORDS)
                print("warm-up done", flush=True)
                await rounds(samples, {
                    "floor (aiohttp + dicts)": lambda: floor(session, url, total),
                    "splice, SQLite, sandboxed": lambda: splice_flow(rt, session, url, "crm.copy", total),
                    "splice with hooks, SQLite": lambda: splice_flow(rt, session, url, "crm.copy_hooks", total),
                }, n)  # fmt: skip
                bad_lines = await bad_record_check(rt, session, bad)
            finally:
                await rt.close()
            pg = await postgres_database("splice_bench_export_import") if postgres else None
            if pg is None:
                notes.append("splice, PostgreSQL: skipped (" + ("--no-postgres" if not postgres else
                             "no PostgreSQL answers at the admin URL") + ")")  # fmt: skip
            else:
                rt = await open_runtime(root, pg)
                try:
                    await splice_flow(rt, session, warm, "crmw.copy", WARMUP_RECORDS)
                    await rounds(samples, {
                        "splice, PostgreSQL, sandboxed": lambda: splice_flow(rt, session, url, "crm.copy", total)
                    }, n)  # fmt: skip
                finally:
                    await rt.close()
        if dlt:
            for variant in ("default", "tuned"):
                took = dlt_run(url, total, variant)
                samples[f"dlt {variant} → duckdb (no POST)"] = [took]
                print(f"  dlt {variant}: {took:.2f} s", flush=True)
        else:
            notes.append("dlt: skipped (--no-dlt)")
    report(samples, total, n, mapping_rate, notes, bad_lines)


def report(
    samples: dict[str, list[float]], total: int, n: int, mapping_rate: float, notes: list[str], bad_lines: list[str]
) -> None:
    rates = {name: total / statistics.median(xs) for name, xs in samples.items()}
    base = rates["floor (aiohttp + dicts)"]
    rows = [[name, rate, f"{rate / base:.2f}", f"{statistics.median(samples[name]):.2f}",
             ", ".join(f"{total / x:,.0f}" for x in samples[name])] for name, rate in rates.items()]  # fmt: skip
    print(f"\n{total:,} records of ~1 KB, pages of {PAGE:,}, median of {n} rounds after a warm-up; {machine()}")
    print(table(["system", "records/s", "× floor", "median s", "every round, records/s"], rows))
    print(f"mapping alone (run_mapping, 10,000 records, in-process): {mapping_rate:,.0f} records/s")
    for note in notes:
        print(note)
    for line in bad_lines:
        print(line)
    for label, goal, rate in (
        ("splice, SQLite, sandboxed", GOAL_PLAIN, rates.get("splice, SQLite, sandboxed")),
        ("splice with hooks, SQLite", GOAL_HOOKS, rates.get("splice with hooks, SQLite")),
        ("splice, PostgreSQL, sandboxed", GOAL_PLAIN, rates.get("splice, PostgreSQL, sandboxed")),
        ("mapping alone", GOAL_MAPPING, mapping_rate),
    ):
        if rate is not None:
            print(f"goal: {label} ≥ {goal:,} records/s — measured {rate:,.0f}: {'ok' if rate >= goal else 'MISSED'}")


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description=textwrap.dedent(__doc__ or "").splitlines()[0])
    p.add_argument("--records", type=int, default=100_000, help="records the source serves (a multiple of 1,000)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-postgres", action="store_true")
    p.add_argument("--no-dlt", action="store_true")
    args = p.parse_args()
    rate = mapping_alone()  # first, on a quiet process (it runs its own event loop)
    asyncio.run(main(args.records, args.rounds, not args.no_postgres, not args.no_dlt, rate))
