"""Sign in, the runs list and a run's page with its logs arriving live, in chromium."""

from __future__ import annotations

import re
import threading
import time
import urllib.request

from playwright.sync_api import Page, expect
from tests.ui.conftest import Site, sign_in

from splice.demo.server import DemoAPI


def test_sign_in_shows_runs_and_sign_out_ends_the_session(page: Page, site: Site) -> None:
    page.goto(site.url + "/ui/runs")
    expect(page).to_have_url(re.compile(r"/ui/login$"))
    page.get_by_label("Access token").fill("spl_not_a_real_token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")

    sign_in(page, site)
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()
    assert site.token not in page.content() and site.token not in page.url
    cookie = next(c for c in page.context.cookies() if c["name"] == "splice_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and site.token not in cookie["value"]

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/ui/login$"))
    page.goto(site.url + "/ui/runs")
    expect(page).to_have_url(re.compile(r"/ui/login$"))


def test_a_failed_run_shows_its_error_code_message_and_traceback(page: Page, site: Site) -> None:
    site.api("POST", "/actions/acme/crash", {"connection_id": "c1", "input": {}})
    sign_in(page, site)
    page.goto(site.url + "/ui/runs?script=acme.crash&status=failed")
    page.locator("#runs-rows a").first.click()
    error = page.locator("#run-error")
    expect(error).to_contain_text("the crash the dashboard shows")
    expect(page.locator("#run-traceback")).to_contain_text("RuntimeError")


def test_a_runs_log_lines_arrive_while_it_runs(page: Page, site: Site) -> None:
    sign_in(page, site)
    answer: dict[str, object] = {}
    body = {"connection_id": "c1", "input": {"lines": 6, "every": 0.7}}
    call = threading.Thread(target=lambda: answer.update(site.api("POST", "/actions/acme/slow", body)))
    call.start()
    try:
        page.goto(site.url + "/ui/runs?script=acme.slow&status=running")
        link = page.locator("#runs-rows a").first
        expect(link).to_be_visible(timeout=15_000)  # the list refreshes itself while the run starts
        link.click()
        expect(page.locator("#run-status")).to_have_text("running")
        expect(page.locator("#logs li").first).to_contain_text("tick", timeout=5_000)
        seen = page.locator("#logs li").count()
        start = time.monotonic()
        expect(page.locator("#logs li").nth(seen)).to_contain_text("tick", timeout=5_000)  # a new line, no reload
        assert time.monotonic() - start < 3
        assert call.is_alive(), "the lines must have arrived while the run was still going"
    finally:
        call.join(timeout=30)
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=10_000)
    expect(page.locator("#logs li")).to_have_count(6)
    expect(page.locator("#run-output")).to_contain_text('"ticks": 6')


def test_a_failed_flow_run_retried_from_its_failed_step_turns_green(page: Page, site: Site) -> None:
    failed = site.api("POST", "/flows/acme.gated/run", {"connection_id": "c1"})
    assert "the gate is closed" in str(failed)
    run_id = site.api("GET", "/runs?kind=flow&limit=1")[0]["id"]
    sign_in(page, site)
    page.goto(f"{site.url}/ui/runs/{run_id}")
    expect(page.locator("#run-status")).to_have_text("failed")
    expect(page.locator("#run-error")).to_contain_text("the gate is closed")
    steps = page.get_by_role("list", name="steps in order").locator("li")
    expect(steps).to_have_count(2)
    expect(steps.nth(0)).to_contain_text("succeeded")
    expect(steps.nth(1)).to_contain_text("failed")

    site.cli("env", "set", "GATE_OPEN", "yes")
    page.get_by_role("button", name="retry from Gate").click()
    expect(page).not_to_have_url(re.compile(run_id))
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=20_000)
    names = page.get_by_role("list", name="steps in order").locator("li strong")
    expect(names).to_have_text(["Count", "Gate", "Each", "Check", "Check"])
    expect(page.locator("#run-output")).to_contain_text('"n": 2')
    # the timeline: a bar per step, each starting no earlier than the step before it at its level
    bars = page.locator("ol.steps .track .bar")
    expect(bars).to_have_count(5)
    lefts = [float(b.get_attribute("style").split("margin-left:")[1].split("%")[0]) for b in bars.all()]
    assert lefts[0] <= lefts[1] <= lefts[2] <= lefts[3] <= lefts[4] <= 100, lefts
    # the loop takes as long as its items did, not the instant its own row was written in
    each = page.locator('li[data-step="Each"] > .muted').first
    expect(each).to_have_text(re.compile(r"^\d+(\.\d)? m?s$"))
    expect(each).not_to_have_text("0 ms")


def test_an_import_runs_errored_record_is_retried_from_its_page(page: Page, site: Site, demo: DemoAPI) -> None:
    first = site.api(
        "POST", "/imports/acme.copies/run", {"connection_id": "c1", "data": [{"email": "ui@x.test", "name": "a"}]}
    )
    copy_id = first["results"][0]["id"]
    again = site.api(
        "POST", "/imports/acme.copies/run", {"connection_id": "c1", "data": [{"email": "ui@x.test", "name": "b"}]}
    )
    assert [r["status_code"] for r in again["results"]] == [422]
    sign_in(page, site)
    page.goto(f"{site.url}/ui/runs/{again['run_id']}")
    errored = page.get_by_role("region", name="errored records")
    expect(errored).to_contain_text("Errored records (1)")
    expect(errored).to_contain_text("at submit")

    # the copy that was in the way goes; the record, retried as it was, now goes through
    delete_contact(demo, copy_id)
    errored.get_by_role("button", name="Retry errored records").click()
    expect(page).not_to_have_url(re.compile(again["run_id"]))
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=20_000)
    assert site.api("GET", f"/runs/{again['run_id']}/errors?status=open") == []
    page.goto(f"{site.url}/ui/runs/{again['run_id']}")
    expect(page.get_by_role("region", name="errored records")).to_have_count(0)
    # the demo API holds its 10k contacts again, for the other tests on this server
    delete_contact(demo, next(c["id"] for c in demo.store.ordered() if c["email"] == "copy-ui@x.test"))


def delete_contact(demo: DemoAPI, contact_id: str) -> None:
    gone = urllib.request.Request(
        f"{demo.url}/api/contacts/{contact_id}", method="DELETE", headers={"X-API-Key": "demo-key"}
    )
    urllib.request.urlopen(gone, timeout=10).close()


def test_older_runs_follow_on_from_the_rows_shown_now_not_those_first_loaded(page: Page, site: Site) -> None:
    def crash() -> None:
        site.api("POST", "/actions/acme/crash", {"connection_id": "c1", "input": {}})

    for _ in range(52 - len(site.api("GET", "/runs?script=acme.crash&limit=100"))):  # other tests crashed too
        crash()
    sign_in(page, site)
    page.goto(site.url + "/ui/runs?script=acme.crash")
    shown = page.locator('#runs-rows a[href*="/runs/run_"]')
    expect(shown).to_have_count(50)

    for _ in range(3):  # while the page is open: three runs push three rows off the first page
        crash()
    newest = site.api("GET", "/runs?script=acme.crash&limit=1")[0]["id"]
    expect(shown.first).to_have_text(newest[-8:], timeout=10_000)
    first_page = set(shown.all_inner_texts())
    page.get_by_role("link", name="Older runs →").click()
    expect(page).to_have_url(re.compile("before="))
    all_runs = {run["id"][-8:] for run in site.api("GET", "/runs?script=acme.crash&limit=100")}
    assert len(all_runs) == 55
    assert set(shown.all_inner_texts()) == all_runs - first_page  # the five oldest, none skipped
