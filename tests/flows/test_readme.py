"""The README's flow example runs as written (with the actions and trigger it names defined)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ProjectFactory

from splice.runtime import Runtime

README = Path(__file__).resolve().parents[2] / "README.md"
AROUND = """
from splice import Integration

acme = Integration("acme", base_url="http://127.0.0.1:9")


@acme.action
async def get_contact(ctx, input):
    return {"id": input["id"], "revenue": 20_000, "orders": [{"id": "o1"}, {"id": "o2"}]}


@acme.action
async def notify_sales(ctx, input):
    return {"notified": True}


@acme.trigger()
async def contact_events(ctx, request):
    return {"payload": request.json()}
"""


def flow_example() -> str:
    section = README.read_text().split("### Flows", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


async def test_the_readme_flow_runs(make_project: ProjectFactory) -> None:
    root = make_project({"acme.py": AROUND + flow_example()})
    async with await Runtime.open(root, isolation="none") as rt:
        run = await rt.flows.run("acme.onboard", payload={"id": "c0001"})
        assert run.status == "succeeded", run.error
        assert run.output == [{"order": "o1", "index": 0}, {"order": "o2", "index": 1}]
        steps = [c.step for c in reversed(await rt.runs.find(parent_id=run.id))]
        assert steps[:4] == ["Get contact", "Tag VIP", "Route", "Notify"]
