"""Async helpers against the demo API's asynchronous jobs (``/api/jobs``): submit once, poll until
done, fetch the result page by page — alone, page by page, and as a flow's export step — and
each way a job can end badly."""

from __future__ import annotations

from typing import Any

import pytest
from tests.resources.conftest import OpenOnDemo

from splice.demo.server import DemoAPI
from splice.errors import AsyncJobError, InvalidInput, NotFound, ProjectError
from splice.integration import Integration
from splice.resources import AsyncHelper, poll_wait
from splice.runtime import Runtime

MODULE = """
from splice import Integration, auth, step
from splice.resources import Field, Mapping, Paging

acme = Integration("acme", base_url="{url}/api", auth=auth.ApiKey())

acme.async_helper("bulk", job_id_path="job.id", status_path="/jobs/{{{{ job_id }}}}", status_value_path="state",
                  done_values=["complete"], failed_values=["failed"], poll_interval=0.05, time_limit=5,
                  result_path="/jobs/{{{{ job_id }}}}/result?limit={{{{ export.page_size }}}}",
                  result_records_path="data",
                  result_paging=Paging(method="page", start=1, param="page"))
acme.async_helper("strict", job_id_path="job.id", status_path="/jobs/{{{{ job_id }}}}", status_value_path="state",
                  done_values=["complete"], in_progress_values=["running"], poll_interval=0.05)
acme.async_helper("quick", job_id_path="job.id", status_path="/jobs/{{{{ job_id }}}}", status_value_path="state",
                  done_values=["complete"], poll_interval=0.05, time_limit=0.4)


def job(outcome, records=25, polls=2):
    return {{"records": records, "polls": polls, "outcome": outcome}}


acme.export("orders", method="POST", path="/jobs", body=job("done"), page_size=10, async_helper="bulk")
acme.export("failing", method="POST", path="/jobs", body=job("failed"), async_helper="bulk")
acme.export("stuck", method="POST", path="/jobs", body=job("never"), async_helper="quick")
acme.export("odd", method="POST", path="/jobs", body=job("mystery"), async_helper="strict")
acme.export("inline", method="POST", path="/jobs", body=job("done", polls=1), async_helper="strict")
acme.export("nohelper", method="POST", path="/jobs", body=job("done"), async_helper="missing")
acme.async_helper("load", job_id_path="job.id", status_path="/jobs/{{{{ job_id }}}}", status_value_path="state",
                  done_values=["complete"], poll_interval=0.05, result_path="/jobs/{{{{ job_id }}}}/result")
acme.import_("bulk_load", path="/jobs", batch_size=3, async_helper="load", response_records_path="data",
             response_id_path="id", body={{"records": "{{{{ records | length }}}}", "polls": 1}})
acme.import_("bulk_fail", path="/jobs", batch_size=3, async_helper="load",
             body={{"records": "{{{{ records | length }}}}", "outcome": "failed"}})
acme.import_("effects", path="/effects", headers={{"Idempotency-Key": "{{{{ record.id }}}}"}},
             mapping=Mapping(fields=(Field(generate="id", extract="id"),)))
acme.flow("copy", steps=[step.export("Pull", "orders", then=[step.import_("Push", "effects")])])
"""


@pytest.fixture
async def rt(open_on_demo: OpenOnDemo) -> Runtime:
    return await open_on_demo(MODULE)


def submitted(demo_api: DemoAPI) -> int:
    return demo_api.stats["jobs.submitted"]


async def test_run_submits_once_polls_and_answers_the_first_page_of_the_result(rt: Runtime, demo_api: DemoAPI) -> None:
    before = submitted(demo_api)
    page = await rt.exports.run("acme.orders", connection="c1")
    assert [r["n"] for r in page["data"]] == list(range(10)) and page["errors"] == []
    assert submitted(demo_api) == before + 1
    job = page["paged_export_state"]["async_job"]
    assert job["phase"] == "result" and job["polls"] == 3
    assert demo_api.stats[f"jobs.polls.{job['job_id']}"] == 3


async def test_page_by_page_the_submit_and_polls_are_pages_without_records(rt: Runtime, demo_api: DemoAPI) -> None:
    before = submitted(demo_api)
    pages: list[dict[str, Any]] = []
    state = None
    while True:
        page = await rt.exports.run_virtual_with_paging("acme.orders", connection="c1", paged_export_state=state)
        pages.append(page)
        state = page["paged_export_state"]
        if state is None:
            break
        assert poll_wait(state) <= 0.05
    assert [len(p["data"]) for p in pages] == [0, 0, 0, 10, 10, 5]
    assert [r["n"] for p in pages for r in p["data"]] == list(range(25))
    assert submitted(demo_api) == before + 1


async def test_without_a_result_request_the_last_status_answer_is_the_result(rt: Runtime) -> None:
    page = await rt.exports.run("acme.inline", connection="c1")
    assert page["data"] == [{"id": page["data"][0]["id"], "state": "complete"}]


async def test_a_failed_job_a_stuck_one_and_an_unknown_status_are_clear_errors(rt: Runtime) -> None:
    with pytest.raises(AsyncJobError) as failed:
        await rt.exports.run("acme.failing", connection="c1")
    assert failed.value.code == "ASYNC_JOB_FAILED" and "state is 'failed'" in failed.value.message
    with pytest.raises(AsyncJobError) as stuck:
        await rt.exports.run("acme.stuck", connection="c1")
    assert stuck.value.code == "ASYNC_TIME_LIMIT" and "not done after 0.4 s" in stuck.value.message
    assert "the last status: 'running'" in stuck.value.message
    with pytest.raises(AsyncJobError) as odd:
        await rt.exports.run("acme.odd", connection="c1")
    assert odd.value.code == "ASYNC_STATUS_UNKNOWN"
    assert "state is 'on-hold', none of the known values (complete, failed, running)" in odd.value.message
    with pytest.raises(NotFound, match=r"async helper 'acme\.missing' is neither declared nor stored"):
        await rt.exports.run("acme.nohelper", connection="c1")


async def test_an_import_waits_for_its_batch_job_and_reads_each_records_answer(rt: Runtime, demo_api: DemoAPI) -> None:
    before = submitted(demo_api)
    sent = await rt.imports.run("acme.bulk_load", [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}], connection="c1")
    ids = [r["id"] for r in sent["results"]]
    assert ids[:3] == [f"job-{before + 1}-r{i}" for i in range(3)] and ids[3] == f"job-{before + 2}-r0"
    assert submitted(demo_api) == before + 2  # a job per batch of 3
    failed = await rt.imports.run("acme.bulk_fail", [{"n": 1}, {"n": 2}], connection="c1")
    assert [r["errors"][0]["code"] for r in failed["results"]] == ["ASYNC_JOB_FAILED"] * 2


async def test_a_flow_streams_only_the_result_pages_into_its_import(rt: Runtime, demo_api: DemoAPI) -> None:
    before = submitted(demo_api)
    run = await rt.flows.run("acme.copy", connection="c1")
    assert run.status == "succeeded", run.error
    assert run.output == {"pages": 3, "records": 25, "errors": 0, "failed_records": 0}
    assert submitted(demo_api) == before + 1


async def test_helpers_are_resources_and_bad_ones_name_their_field(rt: Runtime) -> None:
    made = await rt.async_helpers.create({"integration": "acme", "name": "later", "job_id_path": "id",
                                          "status_path": "/jobs/{{ job_id }}", "poll_interval": 1})  # fmt: skip
    assert made["source"] == "api" and made["poll_interval"] == 1
    assert (await rt.async_helpers.get("acme.bulk"))["source"] == "code"
    doc = (await rt.exports.get("acme.orders")) | {"name": "orders2", "async_helper": "later"}
    await rt.exports.create({k: v for k, v in doc.items() if k not in ("id", "source")})
    for bad, field in (({"poll_interval": 0}, "poll_interval"), ({"done_values": []}, "done_values"),
                       ({"status_path": "/jobs/{{ job_id"}, "status_path"), ({"paging": 1}, "paging")):  # fmt: skip
        with pytest.raises(InvalidInput) as refused:
            await rt.async_helpers.create({"integration": "acme", "name": "bad", "job_id_path": "id",
                                           "status_path": "/jobs", **bad})  # fmt: skip
        assert f": {field}" in refused.value.message, refused.value.message
    with pytest.raises(ProjectError, match="poll_interval"):
        Integration("x", base_url="https://x.example").async_helper(
            "h", job_id_path="id", status_path="/s", poll_interval=-1
        )
    helper = AsyncHelper(name="h", integration="x", job_id_path="id", status_path="/s", done_values=("ok",))
    assert AsyncHelper.from_json(helper.to_json()) == helper
