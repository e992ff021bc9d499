"""The README's "Lookup caches and state by resource" examples run as written, in both isolation modes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.conftest import SPLICE_TOML, ProjectFactory

from splice.runtime import Runtime

README = Path(__file__).resolve().parents[2] / "README.md"
AROUND = 'from splice import Integration\n\nacme = Integration("acme", base_url="http://127.0.0.1:9")\n'


def blocks(language: str) -> list[str]:
    section = README.read_text().split("### Lookup caches and state by resource", 1)[1].split("\n### ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


@pytest.mark.parametrize("isolation", ["process", "none"])
async def test_the_readme_lookup_examples_run(make_project: ProjectFactory, isolation: str) -> None:
    module, api = blocks("python")
    toml = SPLICE_TOML + "\n" + "\n".join(line.strip() for line in blocks("toml")[0].splitlines())
    async with await Runtime.open(make_project({"acme.py": AROUND + module}, toml=toml), isolation=isolation) as rt:
        assert rt.project.config.engine.grants == {"acme": ["crm", "erp"]}
        namespace: dict[str, object] = {}
        exec(api, namespace)
        await namespace["load_skus"](rt)  # type: ignore[operator]
        run = await rt.run("acme.item_id", input={"sku": "A-1"})
        assert run.status == "succeeded" and run.output == {"item_id": "4711"}, run.error
        assert await rt.resource_state.get("integrations", "acme", "last_sku") == "A-1"
        missing = await rt.run("acme.item_id", input={"sku": "B-9"})
        assert missing.status == "failed" and missing.error["details"]["payload"] == {"reason": "unknown SKU"}
