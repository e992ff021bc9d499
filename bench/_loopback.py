"""The export/import benchmark's two APIs in one process of their own: a source and a sink.

    python bench/_loopback.py --records 100000 --port 0      # prints its URL once it listens

* ``GET /records?page=N&size=S`` (page 0-based): ``{"items": [...], "page": N}`` — ``S`` records
  of ~1 KB each, made once at start and served as pre-encoded bytes (the source's cost stays
  out of the measurement); an empty ``items`` after the last.
* ``POST /contacts`` (a JSON list: one batch) → ``[{"id": ...}]`` one per record; a record whose
  ``email`` contains ``bad`` is answered 422 (the whole request, with the index), so one bad
  record among many shows up as one error.
* ``GET /stats`` → how many batches and records the sink took; ``POST /reset`` zeroes them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import orjson
from aiohttp import web

WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
]


def record(i: int, bad: frozenset[int]) -> dict[str, object]:
    note = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(160))[:880]
    return {
        "id": f"r{i:07d}", "first_name": f"First{i}", "last_name": f"Last{i}",
        "email": f"bad{i}@example.com" if i in bad else f"person{i}@example.com",
        "company": {"name": f"Company {i % 977}", "revenue": (i * 7919) % 1_000_000},
        "tags": ["lead" if i % 3 else "customer", f"t{i % 17}"], "updated_at": "2026-12-01T10:00:00Z",
        "note": note,
    }  # fmt: skip


def app(total: int, bad: frozenset[int]) -> web.Application:
    records = [record(i, bad) for i in range(total)]
    pages: dict[tuple[int, int], bytes] = {}
    stats = {"batches": 0, "records": 0}

    async def source(request: web.Request) -> web.Response:
        page, size = int(request.query.get("page", 0)), int(request.query.get("size", 1000))
        body = pages.get((page, size))
        if body is None:
            body = pages[(page, size)] = orjson.dumps({"items": records[page * size : (page + 1) * size], "page": page})
        return web.Response(body=body, content_type="application/json")

    async def sink(request: web.Request) -> web.Response:
        batch = orjson.loads(await request.read())
        items = batch if isinstance(batch, list) else [batch]
        for index, item in enumerate(items):
            if "bad" in str(item.get("email", "")):
                return web.json_response({"error": "invalid email", "index": index}, status=422)
        stats["batches"] += 1
        stats["records"] += len(items)
        answer = [{"id": item.get("external_id")} for item in items]
        return web.Response(body=orjson.dumps(answer if isinstance(batch, list) else answer[0]),
                            content_type="application/json")  # fmt: skip

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(stats)

    async def reset(request: web.Request) -> web.Response:
        stats.update(batches=0, records=0)
        return web.json_response(stats)

    application = web.Application(client_max_size=64 * 1024 * 1024)
    application.add_routes([web.get("/records", source), web.post("/contacts", sink), web.get("/stats", get_stats),
                            web.post("/reset", reset)])  # fmt: skip
    return application


async def main(total: int, port: int, bad: frozenset[int]) -> None:
    runner = web.AppRunner(app(total, bad), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"http://127.0.0.1:{bound}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--bad", type=int, nargs="*", default=[], help="indexes of records the sink refuses")
    args = p.parse_args()
    try:
        asyncio.run(main(args.records, args.port, frozenset(args.bad)))
    except KeyboardInterrupt:
        sys.exit(0)
