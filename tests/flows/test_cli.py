"""`splice flows list|show|run|retry` and a flow run's step tree in `splice runs show`, through the real CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli._cli import add_acme, assert_error, init_project, splice

from splice.demo.server import DemoAPI

FLOWS = """
import os
from splice import expr, step
from integrations.acme import acme


@acme.step()
async def gate(ctx, step_results):
    if ctx.env.get("GATE_OPEN") != "yes":
        raise RuntimeError("the gate is closed")
    return {"passed": True}


@acme.step()
async def check(ctx, step_results):
    return {"n": step_results.item, "i": step_results.index}


acme.flow("gated", steps=[
    step.action("Count", "count_contacts"),
    step.code("Gate", gate),
    step.for_each("Each", items=expr("[1, 2]"), steps=[step.code("Check", check)]),
])
"""


@pytest.fixture
def api() -> Iterator[DemoAPI]:
    """On its own thread: the CLI runs in other processes while the test waits."""
    server = DemoAPI(contacts=20)
    server.start_in_thread()
    yield server
    server.stop_thread()


def test_flows_from_the_cli(tmp_path: Path, api: DemoAPI) -> None:
    root = init_project(tmp_path, "my-project", ("flows.py", FLOWS))
    add_acme(root, "c1", api.url)

    listed = splice("flows", "list", cwd=root)
    assert listed.code == 0 and "acme.gated" in listed.stdout and "3 steps" in listed.stdout, listed
    shown = splice("flows", "show", "acme.gated", cwd=root)
    assert shown.json()["steps"][1] == {"type": "code", "name": "Gate", "function": "acme.gate"}

    failed = splice("flows", "run", "acme.gated", "-c", "c1", "--payload", '{"x": 1}', cwd=root)
    assert failed.code == 1 and "the gate is closed" in failed.stderr, failed
    runs = splice("runs", "list", "--kind", "flow", "--json", cwd=root).json()
    (run,) = runs
    assert run["status"] == "failed" and run["error"]["step"] == "Gate"

    assert splice("env", "set", "GATE_OPEN", "yes", cwd=root).code == 0
    retried = splice("flows", "retry", run["id"], cwd=root)
    assert retried.code == 0, retried
    assert json.loads(retried.stdout) == [{"n": 1, "i": 0}, {"n": 2, "i": 1}]
    latest = splice("runs", "list", "--kind", "flow", "--json", cwd=root).json()[0]
    tree = splice("runs", "show", latest["id"][-8:], cwd=root)
    assert tree.code == 0, tree
    lines = tree.stdout.split("steps (in order", 1)[1].splitlines()
    names = [line.split()[1:3] for line in lines[1:] if line.strip()]
    assert [n[0] if n[0] != "[0]" and n[0] != "[1]" else " ".join(n) for n in names] == [
        "Count", "Gate", "Each", "[0] Check", "[1] Check",
    ]  # fmt: skip

    again = splice("flows", "retry", latest["id"], cwd=root)
    assert_error(again, "only a failed flow run can be retried", hint=None)
    unknown = splice("flows", "run", "acme.nope", "-c", "c1", cwd=root)
    assert_error(unknown, "unknown flow 'acme.nope'", hint=None)
