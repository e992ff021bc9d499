"""Screenshots of the dashboard for the README: ``make screenshots`` (or ``.venv/bin/python docs/screenshots.py``).

Serves a new project (``splice init`` plus a slow action, a flow with a failing gate and a
contacts sync) over the demo API with the real ``splice serve``, gives it some history (runs,
a failed flow run, a synced connection), signs in with chromium and saves one PNG per page
beside this script. Needs Debian's ``chromium`` (``make screenshots`` installs it).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

from splice.demo.server import DemoAPI

HERE = Path(__file__).parent
SPLICE = Path(sys.executable).parent / "splice"
SCRIPTS = """
import asyncio

from splice import expr, step
from integrations.acme import Contact, acme


@acme.action
async def slow(ctx, input):
    for i in range(int((input or {}).get("lines", 5))):
        ctx.log.info(f"processed batch {i}", batch=i)
        await asyncio.sleep(0.2)
    return {"batches": i + 1}


@acme.step()
async def gate(ctx, step_results):
    if ctx.env.get("GATE_OPEN") != "yes":
        raise RuntimeError("the gate is closed")
    return {"passed": True}


@acme.step()
async def check(ctx, step_results):
    return {"n": step_results.item}


acme.flow("gated", description="Counts contacts, then checks each item once the gate opens", steps=[
    step.action("Count", "count_contacts"),
    step.code("Gate", gate),
    step.for_each("Each", items=expr("[1, 2]"), steps=[step.code("Check", check)]),
])


@acme.sync(models=[Contact], every="1h")
async def contacts(ctx):
    async for page in ctx.api.paginate("/contacts", query={"limit": 100}):
        await ctx.records.save([{"id": c["id"], "email": c["email"], "name": c.get("name", "")} for c in page])
"""


def splice(*args: str, cwd: Path) -> str:
    return subprocess.run([str(SPLICE), *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def call(url: str, token: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        url + path, method=method, data=None if body is None else json.dumps(body).encode()
    )
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read() or b"null")


def shoot(page: Page, name: str) -> None:
    page.wait_for_timeout(300)
    page.screenshot(path=str(HERE / f"dashboard-{name}.png"), full_page=False)
    print(f"docs/dashboard-{name}.png")


def main() -> None:
    api = DemoAPI(contacts=500)
    api.start_in_thread()
    with tempfile.TemporaryDirectory(prefix="splice-shots-") as tmp:
        splice("init", "shop", cwd=Path(tmp))
        root = Path(tmp) / "shop"
        (root / "integrations" / "ui_scripts.py").write_text(SCRIPTS)
        for tenant in ("c1", "c2"):
            splice("connections", "add", "acme", tenant, "--credential", "api_key=demo-key", "--config",
                   f"api_url={api.url}", cwd=root)  # fmt: skip
        log = root / "serve.log"
        with log.open("wb") as out:
            server = subprocess.Popen([str(SPLICE), "serve", "--port", "0"], cwd=root, stdout=out, stderr=out)
        try:
            while not (found := re.search(r"REST API on (http://\S+)", log.read_text(errors="replace"))):
                assert server.poll() is None, log.read_text()
                time.sleep(0.1)
            url, token = found.group(1), splice("tokens", "create", "screenshots", cwd=root)
            for tenant in ("c1", "c2"):
                call(url, token, "POST", "/actions/acme/count_contacts", {"connection_id": tenant, "input": {}})
            call(url, token, "POST", "/actions/acme/slow", {"connection_id": "c1", "input": {"lines": 8}})
            call(url, token, "POST", "/flows/acme.gated/run", {"connection_id": "c1"})
            flow_run = call(url, token, "GET", "/runs?kind=flow&limit=1")[0]["id"]
            slow_run = call(url, token, "GET", "/runs?script=acme.slow&limit=1")[0]["id"]
            time.sleep(2)  # the scheduler's first syncs
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1200, "height": 760})
                page.goto(url + "/ui/")
                shoot(page, "sign-in")
                page.get_by_label("Access token").fill(token)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(re.compile("/ui/runs"))
                shoot(page, "runs")
                page.goto(f"{url}/ui/runs/{flow_run}")
                shoot(page, "flow-run")
                page.goto(f"{url}/ui/runs/{slow_run}")
                shoot(page, "run-logs")
                for name in ("connections", "syncs", "flows/acme.gated"):
                    page.goto(f"{url}/ui/{name}")
                    shoot(page, name.split("/")[0])
                page.goto(f"{url}/ui/records?integration=acme&model=Contact&connection=c1")
                shoot(page, "records")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=20)
    api.stop_thread()


if __name__ == "__main__":
    main()
