"""``splice workers``: the worker processes sharing the database, alive or recently lost."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import orjson
import typer

from splice.cli._common import ProjectOption, out, run_async, with_runtime
from splice.runtime import Runtime


def workers(
    project: ProjectOption = None,
    json: Annotated[bool, typer.Option("--json", help="One JSON object per worker.")] = False,
) -> None:
    """List workers: id, host, pid, status (alive, stopped, lost) and seconds since the last heartbeat.

    A lost worker's line says which worker recovered its jobs; lost and stopped ones are kept a day.
    """

    async def work(rt: Runtime) -> None:
        rows = await rt.store.workers.list()
        now = datetime.now(UTC)
        if json:
            for w in rows:
                out.print(orjson.dumps({
                    "id": w.id, "host": w.host, "pid": w.pid, "status": w.status,
                    "started_at": w.started_at.isoformat(), "heartbeat_at": w.heartbeat_at.isoformat(),
                    "lost_at": w.lost_at.isoformat() if w.lost_at else None, "recovered_by": w.recovered_by,
                }).decode(), soft_wrap=True, highlight=False)  # fmt: skip
            return
        if not rows:
            out.print("no workers have run on this database yet — start one: splice serve, or splice worker")
            return
        out.print(f"{'ID':<40} {'HOST':<20} {'PID':>7} {'STATUS':<8} {'HEARTBEAT':>10}", highlight=False)
        for w in rows:
            ago = f"{(now - w.heartbeat_at).total_seconds():.0f}s ago"
            note = f"  recovered by {w.recovered_by}" if w.status == "lost" and w.recovered_by else ""
            out.print(f"{w.id:<40} {w.host:<20} {w.pid:>7} {w.status:<8} {ago:>10}{note}", highlight=False,
                      soft_wrap=True)  # fmt: skip

    run_async(with_runtime(project, work))
