"""``store.records.save`` throughput against a raw upsert of the same rows, SQLite and PostgreSQL.

    .venv/bin/python bench/records_ingest.py [--n 100000] [--batch 1000] [--rounds 3] [--db both]

Each round writes ``--n`` records of ~1 KB JSON in batches of ``--batch`` into a new stream
(one transaction a batch), then saves the same records again unchanged; and the same for
the baselines, into a new plain table ``(stream_id, id, payload)`` of the same database:

* SQLite: the ``sqlite3`` module's ``executemany`` of ``INSERT … ON CONFLICT DO UPDATE``,
  same pragmas (WAL, synchronous=NORMAL), JSON encoded with orjson as part of the timing.
* PostgreSQL: asyncpg ``executemany`` of the same upsert, and ``COPY`` into a temporary
  table followed by ``INSERT … SELECT … ON CONFLICT``; the faster is the baseline.

splice does more per record than the baselines: canonical JSON (sorted keys), a blake2b
content hash, AES-GCM encryption, the lookup of the stored hashes, a cursor and metadata.
Last, it times AES-GCM against Fernet per record, which is why records are not Fernet-encrypted.

PostgreSQL is reached through ``SPLICE_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``); a throwaway database is created and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from _common import machine, parser, table
from cryptography.fernet import Fernet

from splice.store import SecretBox, Store, open_store
from splice.store._record_codec import RecordCipher
from splice.store._records import Stream

ADMIN_URL = os.environ.get("SPLICE_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
]


def make_record(i: int) -> dict[str, Any]:
    """A contact-like record of ~1 KB of JSON (varied text, nested objects, a list)."""
    words = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(93))
    return {
        "id": f"contact-{i:08d}",
        "first_name": f"First{i % 997}",
        "last_name": f"Last{i % 1009}",
        "email": f"person{i}@example.com",
        "phone": f"+1-555-{i % 10_000:04d}",
        "company": {"id": i % 5000, "name": f"Company {i % 5000}", "domain": f"c{i % 5000}.example"},
        "address": {"street": f"{i % 900} Main St", "city": "Springfield", "zip": f"{i % 99_999:05d}", "cc": "US"},
        "tags": [WORDS[i % 14], WORDS[(i + 3) % 14], WORDS[(i + 5) % 14]],
        "score": i * 0.5,
        "active": i % 3 != 0,
        "created_at": "2026-11-01T12:00:00Z",
        "updated_at": "2026-11-20T08:30:00Z",
        "notes": words,
    }


def batches(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def timed(fn: Callable[[], Awaitable[None]]) -> float:
    t0 = time.perf_counter()
    await fn()
    return time.perf_counter() - t0


# --- splice ------------------------------------------------------------------------------


async def splice_rounds(store: Store, chunks: list[list[dict[str, Any]]], label: str) -> tuple[float, float, float]:
    """Seconds for: new, re-saved unchanged, re-saved unchanged with ``mark_seen``."""
    stream = Stream("bench", f"conn-{label}", "Contact")

    async def save(**kwargs: Any) -> None:
        for chunk in chunks:
            await store.records.save(stream, chunk, run_id="bench-run", **kwargs)

    new = await timed(save)
    unchanged = await timed(save)
    seen = await timed(lambda: save(mark_seen=True))
    return new, unchanged, seen


# --- baselines ---------------------------------------------------------------------------

ON_CONFLICT = "ON CONFLICT (stream_id, id) DO UPDATE SET payload = excluded.payload"
UPSERT = "INSERT INTO {t} (stream_id, id, payload) VALUES ({p}) " + ON_CONFLICT


def sqlite_baseline(path: Path, chunks: list[list[dict[str, Any]]], label: str) -> tuple[float, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    name = f"baseline_{label}"
    conn.execute(f"CREATE TABLE {name} (stream_id INTEGER, id TEXT, payload BLOB, PRIMARY KEY (stream_id, id))")
    sql = UPSERT.format(t=name, p="?, ?, ?")

    def run() -> float:
        t0 = time.perf_counter()
        for chunk in chunks:
            rows = [(1, str(item["id"]), orjson.dumps(item)) for item in chunk]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
        return time.perf_counter() - t0

    try:
        return run(), run()
    finally:
        conn.close()


async def pg_baselines(url: str, chunks: list[list[dict[str, Any]]], label: str) -> dict[str, tuple[float, float]]:
    conn = await asyncpg.connect(url)
    out = {}
    try:
        for kind in ("executemany", "copy"):
            name = f"baseline_{kind}_{label}"
            await conn.execute(
                f"CREATE TABLE {name} (stream_id integer, id varchar(512), payload bytea, PRIMARY KEY (stream_id, id))"
            )
            runs = [await timed(lambda n=name, k=kind: _pg_load(conn, n, k, chunks)) for _ in range(2)]
            out[kind] = (runs[0], runs[1])
    finally:
        await conn.close()
    return out


async def _pg_load(conn: asyncpg.Connection, name: str, kind: str, chunks: list[list[dict[str, Any]]]) -> None:
    for chunk in chunks:
        rows = [(1, str(item["id"]), orjson.dumps(item)) for item in chunk]
        async with conn.transaction():
            if kind == "executemany":
                await conn.executemany(UPSERT.format(t=name, p="$1, $2, $3"), rows)
                continue
            await conn.execute(f"CREATE TEMP TABLE stage (LIKE {name}) ON COMMIT DROP")
            await conn.copy_records_to_table("stage", records=rows)
            await conn.execute(f"INSERT INTO {name} SELECT * FROM stage {ON_CONFLICT}")


@contextlib.asynccontextmanager
async def pg_database() -> AsyncIterator[str | None]:
    try:
        admin = await asyncpg.connect(ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"PostgreSQL skipped: cannot reach {ADMIN_URL}: {exc}")
        yield None
        return
    name = f"splice_bench_{secrets.token_hex(4)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# --- report ------------------------------------------------------------------------------


def rate(n: int, seconds: float) -> float:
    return n / seconds


def report(
    kind: str, n: int, splice: list[tuple[float, float, float]], base: dict[str, list[tuple[float, float]]]
) -> None:
    """Best round of each (the least disturbed by other work on the machine)."""
    new, unchanged, seen = (min(r[i] for r in splice) for i in range(3))
    best = {name: (min(r[0] for r in runs), min(r[1] for r in runs)) for name, runs in base.items()}
    base_name = min(best, key=lambda name: best[name][0])
    base_new, base_again = best[base_name]
    rows: list[list[object]] = []
    for name, (b_new, b_again) in best.items():
        rows.append([f"raw {name}", rate(n, b_new), rate(n, b_again), "", ""])
    rows.append(["splice save", rate(n, new), rate(n, unchanged), base_new / new, base_again / unchanged])
    rows.append(["splice save, mark_seen", "", rate(n, seen), "", base_again / seen])
    print(f"\n{kind}: {n:,} records in batches, records/s (best of rounds); × = splice rate / raw {base_name} rate")
    print(table(["", "new /s", "unchanged /s", "new ×", "unchanged ×"], rows))


def cipher_costs(items: list[dict[str, Any]]) -> None:
    plains = [orjson.dumps(item, option=orjson.OPT_SORT_KEYS) for item in items[:20_000]]
    cipher, fernet = RecordCipher(SecretBox.generate()), Fernet(Fernet.generate_key())
    t0 = time.perf_counter()
    blobs = cipher.encrypt_many(1, [(str(i), p, b"") for i, p in enumerate(plains)])
    t1 = time.perf_counter()
    for i, blob in enumerate(blobs):
        cipher.decrypt(1, str(i), blob)
    t2 = time.perf_counter()
    tokens = [fernet.encrypt(p) for p in plains]
    t3 = time.perf_counter()
    for token in tokens:
        fernet.decrypt(token)
    t4 = time.perf_counter()
    per = 1e6 / len(plains)
    print(f"\nper record of ~{len(plains[0])} B, µs to encrypt / decrypt:")
    print(f"  AES-256-GCM (records) {(t1 - t0) * per:.2f} / {(t2 - t1) * per:.2f}")
    print(f"  Fernet (credentials)  {(t3 - t2) * per:.2f} / {(t4 - t3) * per:.2f}")


async def main() -> None:
    p = parser("records ingest vs raw upsert", 100_000)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = p.parse_args()
    items = [make_record(i) for i in range(args.n)]
    chunks = batches(items, args.batch)
    size = sum(len(orjson.dumps(item)) for item in items[:1000]) / 1000
    print(machine())
    print(f"{args.n:,} records of {size:,.0f} B JSON, batches of {args.batch:,}, {args.rounds} rounds")
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="splice-bench-") as tmp:
            path = Path(tmp) / "bench.db"
            store = await open_store(f"sqlite:///{path}", SecretBox.generate())
            splice, base = [], []
            try:
                for r in range(args.rounds):
                    base.append(sqlite_baseline(path, chunks, str(r)))
                    splice.append(await splice_rounds(store, chunks, str(r)))
            finally:
                await store.close()
            report("SQLite", args.n, splice, {"executemany": base})
    if args.db in ("postgres", "both"):
        async with pg_database() as url:
            if url is not None:
                store = await open_store(url, SecretBox.generate())
                splice, pg = [], {"executemany": [], "copy": []}
                try:
                    for r in range(args.rounds):
                        for kind, runs in (await pg_baselines(url, chunks, str(r))).items():
                            pg[kind].append(runs)
                        splice.append(await splice_rounds(store, chunks, str(r)))
                finally:
                    await store.close()
                report("PostgreSQL", args.n, splice, pg)
    cipher_costs(items)


if __name__ == "__main__":
    asyncio.run(main())
