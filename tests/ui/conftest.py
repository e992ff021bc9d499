"""A real ``splice serve`` (a child process, SQLite) over a demo API, and chromium driven by Playwright.

One server per test module: starting the engine costs seconds, and each test works on its own
connections, runs or syncs. Tokens are made with the CLI as a user would; the browser signs in
through the sign-in form.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from tests.cli._cli import SPLICE, add_acme, clean_env, init_project, splice
from tests.ui._browser import chromium_or_skip

from splice.demo.server import DemoAPI

#: what the tests run: a slow action that logs, a flow whose gate opens with an env var, an import that
#: copies contacts (a copy that exists already is a record error), a sync of contacts
SCRIPTS = """
import asyncio

from splice import expr, step
from splice.resources import Field, Mapping
from integrations.acme import Contact, acme


@acme.action
async def slow(ctx, input):
    for i in range(int((input or {}).get("lines", 5))):
        ctx.log.info(f"tick {i}")
        await asyncio.sleep(float((input or {}).get("every", 0.5)))
    return {"ticks": i + 1}


@acme.action
async def crash(ctx, input):
    raise RuntimeError("the crash the dashboard shows")


@acme.step()
async def gate(ctx, step_results):
    if ctx.env.get("GATE_OPEN") != "yes":
        raise RuntimeError("the gate is closed")
    return {"passed": True}


@acme.step()
async def check(ctx, step_results):
    return {"n": step_results.item}


acme.flow("gated", steps=[
    step.action("Count", "count_contacts"),
    step.code("Gate", gate),
    step.for_each("Each", items=expr("[1, 2]"), steps=[step.code("Check", check)]),
])


acme.import_("copies", path="/contacts", response_id_path="id", mapping=Mapping(fields=(
    Field(generate="email", extract="'copy-' & email"), Field(generate="name", extract="name"),
)))


@acme.sync(models=[Contact], every="1d")
async def contacts(ctx):
    async for page in ctx.api.paginate("/contacts", query={"limit": 500}):
        await ctx.records.save([{"id": c["id"], "email": c["email"], "name": c.get("name", "")} for c in page])
"""
START_TIMEOUT = 60.0


@dataclass
class Site:
    """The served project: its folder, the dashboard's URL and a full-access token's secret."""

    root: Path
    url: str
    token: str

    def cli(self, *args: str) -> str:
        result = splice(*args, cwd=self.root)
        assert result.code == 0, result
        return result.stdout.strip()

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """The REST API, as a client app would call it."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token or self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read() or b"null")


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoAPI]:
    api = DemoAPI(contacts=10_000)
    api.start_in_thread()
    yield api
    api.stop_thread()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, demo: DemoAPI) -> Iterator[Site]:
    yield from serve_site(tmp_path_factory.mktemp("ui"), demo)


def serve_site(parent: Path, demo: DemoAPI, database_url: str | None = None) -> Iterator[Site]:
    """``splice serve`` on a new project in ``parent`` with connections c1 and c2 to ``demo``; on
    ``database_url`` (written into its ``splice.toml``) or its own SQLite file."""
    root = init_project(parent, "shop", ("ui_scripts.py", SCRIPTS))
    if database_url is not None:
        toml = root / "splice.toml"
        toml.write_text(toml.read_text().replace("[runtime]\n", f'[runtime]\ndatabase_url = "{database_url}"\n', 1))
    for tenant in ("c1", "c2"):
        add_acme(root, tenant, demo.url)
    log = root / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(SPLICE), "serve", "--port", "0"], cwd=root, env=clean_env(), stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not (found := re.search(r"REST API on (http://\S+)", log.read_text(errors="replace"))):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        token = splice("tokens", "create", "dashboard", cwd=root)
        assert token.code == 0, token
        yield Site(root, found.group(1), token.stdout.strip())
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_or_skip()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def sign_in(page: Page, site: Site, token: str | None = None) -> None:
    """Through the sign-in form, as a user does."""
    page.goto(site.url + "/ui/")
    page.get_by_label("Access token").fill(token or site.token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/ui/runs"))
