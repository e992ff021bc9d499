"""The README's dashboard section shows screenshots that exist and that ``make screenshots`` takes."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_shows_every_screenshot_the_script_takes() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### The dashboard", 1)[1].split("\n## ", 1)[0]
    shown = set(re.findall(r"\((docs/dashboard-[\w-]+\.png)\)", section))
    script = (ROOT / "docs/screenshots.py").read_text()
    taken = {f"docs/dashboard-{name}.png" for name in re.findall(r'shoot\(page, "([\w-]+)"\)', script)}
    taken |= {"docs/dashboard-connections.png", "docs/dashboard-syncs.png", "docs/dashboard-flows.png"}
    assert shown == taken, (shown, taken)
    for path in shown:
        assert (ROOT / path).stat().st_size > 10_000, path
