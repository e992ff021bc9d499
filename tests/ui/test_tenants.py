"""Connections, syncs, records and flows in chromium, and a scoped token that sees only its tenant."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect
from tests.ui.conftest import Site, sign_in


def test_a_sync_triggered_from_the_dashboard_shows_progress_then_its_records_page_through(
    page: Page, site: Site
) -> None:
    sign_in(page, site)
    page.goto(site.url + "/ui/syncs")
    row = page.locator('tr[data-sync="acme.contacts"][data-connection="c1"]')
    expect(row).to_be_visible()
    before = [run["id"] for run in site.api("GET", "/runs?script=acme.contacts&connection_id=c1")]
    row.get_by_role("button", name="Trigger").click()
    expect(page.get_by_role("status")).to_contain_text("acme.contacts queued for c1", timeout=30_000)
    last_run = row.locator("td:nth-child(4) a")
    expect(last_run).not_to_have_attribute("href", re.compile("|".join(before) or "^$"), timeout=30_000)
    expect(row.locator(".progress")).to_contain_text(re.compile(r"pages: \d+"), timeout=30_000)
    expect(row).to_contain_text("succeeded", timeout=60_000)
    expect(row).to_contain_text("Contact: 10000")

    page.goto(site.url + "/ui/records")
    page.get_by_label("Integration").select_option("acme")
    page.get_by_label("Model").select_option("Contact")
    page.get_by_label("Connection").select_option("c1")
    page.get_by_label("Per page").select_option("500")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"size=500"))
    ids: set[str] = set()
    for _ in range(25):
        page.wait_for_load_state()
        rows = page.locator("#records-rows tr td:first-child")
        ids.update(rows.all_inner_texts())
        following = page.get_by_role("link", name="Next page →")
        if following.count() == 0:
            break
        seen = page.url
        following.click()
        page.wait_for_url(lambda url, seen=seen: url != seen)
    assert len(ids) == 10_000

    page.locator("#records-rows a").first.click()
    expect(page.locator("#record-json")).to_contain_text('"_splice"')
    expect(page.locator("#record-json")).to_contain_text('"email"')


def test_connections_are_tested_and_deleted_after_a_confirmation(page: Page, site: Site) -> None:
    site.cli("connections", "add", "acme", "doomed", "--credential", "api_key=demo-key", "--config",
             f"api_url={site.api('GET', '/connections/acme/c1')['config']['api_url']}")  # fmt: skip
    sign_in(page, site)
    page.goto(site.url + "/ui/connections")
    page.get_by_role("link", name="doomed").click()
    expect(page.get_by_text("api_key")).to_be_visible()
    assert "demo-key" not in page.content()
    page.get_by_role("button", name="Test").click()
    expect(page.locator("#test-result")).to_contain_text("Test passed")
    page.get_by_text("Delete…").click()
    page.get_by_role("button", name="Yes, delete acme/doomed").click()
    expect(page).to_have_url(re.compile(r"/ui/connections$"))
    expect(page.get_by_role("link", name="doomed")).to_have_count(0)


def test_a_connection_scoped_token_sees_and_acts_on_its_tenant_only(page: Page, site: Site) -> None:
    site.api("POST", "/actions/acme/count_contacts", {"connection_id": "c2", "input": {}})
    other = site.api("GET", "/runs?connection_id=c2&limit=1")[0]
    scoped = site.cli("tokens", "create", "tenant-c1", "--connection", "c1")
    sign_in(page, site, scoped)

    page.goto(site.url + "/ui/runs")
    connections = page.locator("#runs-rows td:nth-child(4)")
    expect(connections.first).to_have_text("c1")
    assert set(connections.all_inner_texts()) == {"c1"}
    expect(page.locator("#runs-rows")).not_to_contain_text(other["id"][-8:])
    page.goto(f"{site.url}/ui/runs/{other['id']}")
    expect(page.get_by_role("heading", name=re.compile("404"))).to_be_visible()
    page.goto(site.url + "/ui/connections")
    expect(page.get_by_role("link", name="c1")).to_be_visible()
    expect(page.get_by_role("link", name="c2")).to_have_count(0)
    page.goto(site.url + "/ui/connections/acme/c2")
    expect(page.get_by_role("heading", name=re.compile("404"))).to_be_visible()
    page.goto(site.url + "/ui/syncs")
    expect(page.locator('tr[data-connection="c2"]')).to_have_count(0)

    # a forged form post (with this session's own CSRF secret) still cannot act on another tenant
    csrf = page.locator('input[name="csrf"]').first.get_attribute("value")
    answer = page.request.post(site.url + "/ui/syncs/acme/contacts/c2/pause", form={"csrf": csrf or ""})
    assert answer.status == 404
    assert not site.api("GET", "/syncs/acme/contacts/c2")["paused"]


def test_a_post_without_the_sessions_csrf_secret_is_refused(page: Page, site: Site) -> None:
    sign_in(page, site)
    answer = page.request.post(site.url + "/ui/syncs/acme/contacts/c1/pause", form={"csrf": "forged"})
    assert answer.status == 403
    assert not site.api("GET", "/syncs/acme/contacts/c1")["paused"]


def test_flows_are_listed_and_drawn_as_their_trigger_and_steps(page: Page, site: Site) -> None:
    sign_in(page, site)
    page.goto(site.url + "/ui/flows")
    page.get_by_role("link", name="acme.gated").click()
    drawing = page.get_by_label("the flow, trigger then steps")
    expect(drawing.locator(".trigger")).to_contain_text("manual")
    expect(drawing.locator("li.node > strong")).to_have_text(["Count", "Gate", "Each", "Check"])
    expect(drawing.locator("li.for_each")).to_contain_text("Check")


def test_the_sync_buttons_outlive_the_tables_refresh_and_follow_a_pause_made_elsewhere(page: Page, site: Site) -> None:
    sign_in(page, site)
    page.goto(site.url + "/ui/syncs")
    kept = page.locator('tr[data-sync="acme.contacts"][data-connection="c1"]').get_by_role("button", name="Trigger")
    kept.evaluate("button => { button.dataset.mark = 'kept' }")
    row = page.locator('tr[data-sync="acme.contacts"][data-connection="c2"]')

    site.api("POST", "/syncs/acme/contacts/c2/pause")
    try:
        expect(row.get_by_role("button", name="Resume")).to_be_visible(timeout=10_000)
        expect(row).to_contain_text("paused")
        # the table was swapped, and c1's buttons are the very elements they were
        expect(kept).to_have_attribute("data-mark", "kept")
    finally:
        site.api("POST", "/syncs/acme/contacts/c2/resume")


def test_a_refresh_of_an_unchanged_table_keeps_the_keyboard_focus_where_it_is(page: Page, site: Site) -> None:
    site.api("POST", "/actions/acme/count_contacts", {"connection_id": "c1", "input": {}})
    sign_in(page, site)
    page.goto(site.url + "/ui/runs")
    first = page.locator("#runs-rows a").first
    first.focus()
    for _ in range(2):
        with page.expect_response(
            lambda r: "/ui/runs" in r.url and r.request.headers.get("hx-request") == "true"
        ) as poll:
            pass
        assert poll.value.status == 204  # unchanged: nothing to swap
    assert first.evaluate("link => document.activeElement === link")


def test_records_are_filtered_by_change_and_time_and_a_bad_time_is_named(page: Page, site: Site) -> None:
    site.api("POST", "/syncs/acme/contacts/c2/trigger")  # (already running, if the schedule started it)
    deadline = time.monotonic() + 60
    while not site.api("GET", "/runs?script=acme.contacts&connection_id=c2&status=succeeded&limit=1"):
        assert time.monotonic() < deadline, "c2's sync did not finish"
        time.sleep(0.2)
    sign_in(page, site)
    records = f"{site.url}/ui/records?integration=acme&model=Contact&connection=c2&size=50"
    rows = page.locator("#records-rows tr")

    page.goto(records + "&filter=added")
    expect(rows).to_have_count(50)
    expect(rows.first.locator("td").nth(1)).to_have_text("ADDED")
    page.goto(records + "&filter=deleted")
    expect(rows).to_have_text(["No records match."])
    page.goto(records + "&modified_after=2999-01-01T00:00:00Z")
    expect(rows).to_have_text(["No records match."])
    page.goto(records + "&modified_after=2000-01-01T00:00:00Z")
    expect(rows).to_have_count(50)

    page.goto(records.replace("size=50", "size=lots"))  # not a size the form offers: its smallest
    expect(rows).to_have_count(50)

    answer = page.goto(records + "&modified_after=last+tuesday")
    assert answer is not None and answer.status == 422
    expect(page.get_by_role("alert")).to_contain_text("modified after: 'last tuesday' is not an ISO 8601 time")
    expect(page.locator(".hint")).to_contain_text("2025-01-31T00:00:00Z")
