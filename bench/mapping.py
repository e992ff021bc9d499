"""Records per second of ``run_mapping`` (10,000 records of ~1 KB) against a plain-Python loop.

The floor is a hand-written dict-building loop doing the same work without JSONata; the goal
is at least 50,000 records/s for ``run_mapping``, nothing sent. Run::

    .venv/bin/python bench/mapping.py

Measured (2-core box, 8 fields, one lookup): ~54,000 records/s for ``run_mapping``, ~410,000 for the
floor (7.7x its time) — the goal is met, narrowly. Where the time goes (cProfile): jsonatapy's
``evaluate`` is about a third (80,000 calls, ~1.2 µs each, mostly converting the 1 KB record from
Python to Rust values, once per field), its Python wrapper another ~10 %, and the rest is our
per-field Python (the field's call, type coercion, nested ``generate`` paths) and one
``orjson.dumps`` per record for its 1 MiB bound. Converting each record once (``JsonataData``)
instead of once per field is the next step if more is needed.
"""

from __future__ import annotations

import asyncio
import time

from splice.resources import Field, Import, Lookup, Mapping, StaticLookups, run_mapping

COUNT = 10_000


def records() -> list[dict]:
    return [
        {"id": i, "firstName": f"Ann{i}", "lastName": "Lee", "email": f"A{i}@X.COM", "age": str(20 + i % 50),
         "active": i % 2 == 0, "owner": f"o{i % 10}",
         "address": {"city": "Paris", "zip": "75001", "street": "1 rue de la Paix"},
         "lines": [{"sku": f"s{j}", "qty": j, "price": 1.5 * j} for j in range(8)], "notes": "x" * 300}
        for i in range(COUNT)
    ]  # fmt: skip


IMPORT = Import(
    name="bench",
    integration="bench",
    path="/x",
    mapping=Mapping(
        fields=(
            Field(generate="id", extract="id", data_type="string"),
            Field(generate="email", extract="$lowercase(email)"),
            Field(generate="name", extract="firstName & ' ' & lastName"),
            Field(generate="age", extract="age", data_type="integer"),
            Field(generate="address.city", extract="address.city"),
            Field(generate="total", extract="$sum(lines.(qty * price))"),
            Field(generate="active", extract="active", data_type="boolean"),
            Field(generate="owner", lookup=Lookup("owners", "owner", on_miss="null")),
        ),
        static={"source": "bench"},
    ),
)


def floor(rows: list[dict], owners: dict[str, str]) -> list[dict]:
    out = []
    for r in rows:
        out.append({"source": "bench", "id": str(r["id"]), "email": r["email"].lower(),
                    "name": r["firstName"] + " " + r["lastName"], "age": int(r["age"]),
                    "address": {"city": r["address"]["city"]},
                    "total": sum(line["qty"] * line["price"] for line in r["lines"]),
                    "active": bool(r["active"]), "owner": owners.get(r["owner"])})  # fmt: skip
    return out


def throughput(import_: Import, rows: list[dict], lookups: StaticLookups) -> float:
    """Records/s of ``run_mapping(import_, rows)`` in this process, after a warm-up on 100 of them
    (``bench/export_import.py`` times its own mapping with it)."""
    asyncio.run(run_mapping(import_, rows[:100], lookups))  # compile, warm up
    started = time.perf_counter()
    mapped = asyncio.run(run_mapping(import_, rows, lookups))
    took = time.perf_counter() - started
    assert all(m["status_code"] == 200 for m in mapped), next(m for m in mapped if m["status_code"] != 200)
    return len(rows) / took


def main() -> None:
    rows = records()
    owners = {f"o{i}": f"user{i}" for i in range(5)}
    lookups = StaticLookups({"owners": owners})
    took = COUNT / throughput(IMPORT, rows, lookups)
    started = time.perf_counter()
    floor(rows, owners)
    took_floor = time.perf_counter() - started
    print(f"run_mapping : {COUNT / took:>12,.0f} records/s ({took * 1000:.0f} ms for {COUNT:,})")
    print(f"plain Python: {COUNT / took_floor:>12,.0f} records/s ({took_floor * 1000:.0f} ms)")
    print(f"ratio       : {took / took_floor:.1f}x the floor's time")


if __name__ == "__main__":
    main()
