"""The dashboard's accessible basics in chromium: usable by keyboard alone, and readable at about
80 columns (640 px) with no sideways scrolling."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.ui.conftest import Site, sign_in

PAGES = ["/ui/runs", "/ui/syncs", "/ui/connections", "/ui/connections/acme/c1", "/ui/records", "/ui/flows"]


def test_signing_in_and_moving_around_by_keyboard_alone(page: Page, site: Site) -> None:
    page.goto(site.url + "/ui/")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "token":
            break
    page.keyboard.type(site.token)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/ui/runs"))

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Runs")).to_be_focused()
    for _ in range(3):
        page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Syncs")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/ui/syncs"))
    expect(page.get_by_role("heading", name="Syncs")).to_be_visible()


@pytest.fixture
def narrow(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 640, "height": 900})
    context.set_default_timeout(20_000)
    return context.new_page()


def test_every_page_fits_80_columns_without_sideways_scrolling(narrow: Page, site: Site) -> None:
    site.api("POST", "/flows/acme.gated/run", {"connection_id": "c1"})
    flow_run = site.api("GET", "/runs?kind=flow&limit=1")[0]["id"]
    site.api("POST", "/syncs/acme/contacts/c1/trigger")
    deadline = time.monotonic() + 60
    while not site.api("GET", "/runs?script=acme.contacts&connection_id=c1&status=succeeded&limit=1"):
        assert time.monotonic() < deadline, "the sync did not finish"
        time.sleep(0.2)
    sign_in(narrow, site)
    too_wide = {}
    for path in [*PAGES, f"/ui/runs/{flow_run}", "/ui/records?integration=acme&model=Contact&connection=c1"]:
        narrow.goto(site.url + path)
        expect(narrow.locator("main")).to_be_visible()
        overflow = narrow.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 1:
            too_wide[path] = overflow
    assert too_wide == {}, f"pages wider than 640 px (by px): {too_wide}"
    expect(narrow.locator("#records-rows tr")).to_have_count(50)
    narrow.context.close()
