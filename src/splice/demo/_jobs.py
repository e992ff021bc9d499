"""Acme's asynchronous bulk export under ``/api/jobs``: an API that answers "job accepted".

``POST /api/jobs`` ``{"records": N, "polls": P, "outcome": "done"|"failed"|"never"|"mystery"}``
→ 202 ``{"job": {"id": "job-1"}}``; ``GET /api/jobs/{id}`` answers ``{"state": "running"}``
for the first ``P`` polls, then the outcome's state (``never`` stays running; ``mystery``
answers a state no helper knows); ``GET /api/jobs/{id}/result?page=&limit=`` pages through
the job's records (409 until it is done). ``stats`` counts submits (``jobs.submitted``) and
polls per job (``jobs.polls.<id>``), so a test can prove a job was submitted once.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from aiohttp import web

from splice.demo._guard import Guard
from splice.demo._web import abort, json_response, query_int, read_json_object

OUTCOMES = {"done": "complete", "failed": "failed", "never": "running", "mystery": "on-hold"}
MAX_RECORDS = 1_000_000


class JobsAPI:
    """The ``/api/jobs`` routes; jobs live in memory, numbered from 1."""

    def __init__(self, *, guard: Guard, stats: Counter[str]) -> None:
        self.guard = guard
        self.stats = stats
        self.jobs: dict[str, dict[str, Any]] = {}

    def routes(self) -> list[web.RouteDef]:
        g = self.guard
        return [
            web.post("/api/jobs", g(self._submit)),
            web.get("/api/jobs/{id}", g(self._status)),
            web.get("/api/jobs/{id}/result", g(self._result)),
        ]

    async def _submit(self, request: web.Request) -> web.Response:
        body = await read_json_object(request)
        records, polls, outcome = body.get("records", 10), body.get("polls", 2), body.get("outcome", "done")
        if not isinstance(records, int) or not 0 <= records <= MAX_RECORDS:
            abort(400, {"error": f"records must be 0 to {MAX_RECORDS}"})
        if not isinstance(polls, int) or polls < 0:
            abort(400, {"error": "polls must be a whole number from 0"})
        if outcome not in OUTCOMES:
            abort(400, {"error": f"outcome must be one of {', '.join(OUTCOMES)}"})
        job_id = f"job-{len(self.jobs) + 1}"
        self.jobs[job_id] = {"records": records, "polls": polls, "outcome": outcome, "seen": 0}
        self.stats["jobs.submitted"] += 1
        return json_response({"job": {"id": job_id}, "accepted": True}, status=202)

    def _job(self, request: web.Request) -> tuple[str, dict[str, Any]]:
        job_id = request.match_info["id"]
        if job_id not in self.jobs:
            abort(404, {"error": f"no job {job_id}"})
        return job_id, self.jobs[job_id]

    def _state(self, job: dict[str, Any]) -> str:
        return "running" if job["seen"] <= job["polls"] else OUTCOMES[job["outcome"]]

    async def _status(self, request: web.Request) -> web.Response:
        job_id, job = self._job(request)
        job["seen"] += 1
        self.stats[f"jobs.polls.{job_id}"] += 1
        return json_response({"id": job_id, "state": self._state(job)})

    async def _result(self, request: web.Request) -> web.Response:
        job_id, job = self._job(request)
        if job["seen"] <= job["polls"] or job["outcome"] != "done":
            abort(409, {"error": f"job {job_id} is not complete"})
        page = query_int(request, "page", default=1, minimum=1)
        limit = query_int(request, "limit", default=100, minimum=1, maximum=1000)
        start = (page - 1) * limit
        data = [{"id": f"{job_id}-r{i}", "n": i} for i in range(start, min(start + limit, job["records"]))]
        return json_response({"data": data, "page": page, "total_pages": math.ceil(job["records"] / limit)})
