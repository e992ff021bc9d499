"""Acme's file endpoints under ``/api/files``: a CSV to download and a place to upload files.

``GET /api/files/orders.csv?rows=N`` answers N order rows as CSV (CRLF, a header row);
``POST /api/files/{name}`` keeps the body as it came (any content type) and answers
``{"name", "bytes", "lines"}``; ``GET /api/files/{name}`` gives the kept file back, so a test
can compare what an import generated with what it expected byte for byte.
"""

from __future__ import annotations

from collections import Counter

from aiohttp import web

from splice.demo._guard import Guard
from splice.demo._web import abort, json_response, query_int

MAX_ROWS = 1_000_000


def orders_csv(rows: int) -> bytes:
    """``rows`` orders: ``id,customer,total`` with a quoted name holding a comma every 7th row."""
    lines = ["id,customer,total"]
    for n in range(1, rows + 1):
        customer = f'"Shop {n}, Ltd"' if n % 7 == 0 else f"Shop {n}"
        lines.append(f"SO-{n},{customer},{n * 3}.50")
    return ("\r\n".join(lines) + "\r\n").encode()


class FilesAPI:
    """The ``/api/files`` routes; uploads live in memory."""

    def __init__(self, *, guard: Guard, stats: Counter[str]) -> None:
        self.guard = guard
        self.stats = stats
        self.files: dict[str, bytes] = {}

    def routes(self) -> list[web.RouteDef]:
        g = self.guard
        return [
            web.get("/api/files/orders.csv", g(self._orders)),
            web.post("/api/files/{name}", g(self._upload)),
            web.get("/api/files/{name}", g(self._download)),
        ]

    async def _orders(self, request: web.Request) -> web.Response:
        rows = query_int(request, "rows", default=20, minimum=0, maximum=MAX_ROWS)
        return web.Response(body=orders_csv(rows), content_type="text/csv")

    async def _upload(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = await request.read()
        self.files[name] = body
        self.stats[f"files.uploads.{name}"] += 1
        return json_response({"name": name, "bytes": len(body), "lines": body.count(b"\n")}, status=201)

    async def _download(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.files:
            abort(404, {"error": f"no file {name}"})
        return web.Response(body=self.files[name], content_type="application/octet-stream")
