"""A normal script under the full sandbox: ctx.api, ctx.state, logs and scratch all work."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from splice._sandbox import Protections
from splice.runtime import Runtime


async def test_a_normal_script_works_under_the_full_sandbox(rt: Runtime, host: Protections) -> None:
    first = await rt.run("acme.normal", connection="own")
    assert first.status == "succeeded", first.error
    out = first.output
    assert out["me"] == {"auth": "api_key", "principal": "***"}  # the key itself is masked in stored output
    assert out["count"] == 1
    assert out["note"] == "kept in scratch"
    assert out["tmp_in_scratch"] is True
    assert out["env"] == ["HOME", "LANG", "TMPDIR"]
    if host.granted("uid drop"):
        assert out["uid"] == 65534
    lines = [line.message for line in await rt.runs.logs(run_id=first.id)]
    assert "normal run" in lines and "printed line" in lines
    assert any(line.startswith("GET ") for line in lines)

    second = await rt.run("acme.normal", connection="own")
    assert second.output["count"] == 2
    assert second.output["scratch"] != out["scratch"]


async def test_the_worker_says_at_start_what_the_sandbox_grants(
    rt: Runtime, host: Protections, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="splice")
    await rt.executor.start()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("script sandbox (auto): ")]
    assert len(lines) == 1
    for p in host.items:
        assert p.name in lines[0]
    assert ("missing:" in lines[0]) == bool(host.missing)


async def test_scratch_is_removed_when_the_run_ends(rt: Runtime) -> None:
    run = await rt.run("acme.normal", connection="own")
    zygote = rt.executor._spawner._proc.pid
    # the zygote's filesystem view is only visible through its /proc root
    scratch = Path(f"/proc/{zygote}/root") / run.output["scratch"].lstrip("/")
    parent = scratch.parent
    assert parent.is_dir()
    for _ in range(100):
        if not scratch.exists():
            break
        await asyncio.sleep(0.02)
    assert not scratch.exists()
    waiting = list(parent.iterdir())  # at most the spare's, empty until it gets the next run
    assert len(waiting) <= 1 and all(not any(p.iterdir()) for p in waiting)
