"""An export streamed into an import by a flow on a real `splice serve`, killed with -9 and resumed.

Each record is sent with its own idempotency key (the demo API applies an effect once per key):
after the restart the flow finishes, every record was applied exactly once, and no record of a
page whose import had finished before the kill was sent again.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from tests.conftest import ProjectFactory
from tests.engine.conftest import START_TIMEOUT, StartWorker
from tests.engine.test_flows import children, connect, counted, session
from tests.engine.test_worker import until

from splice.demo.server import DemoAPI
from splice.runtime import Runtime

MODULE = """
from splice import Integration, auth, step
from splice.resources import Field, Mapping, Paging

acme = Integration("acme", base_url="{config.api_url}/api", auth=auth.ApiKey())


@acme.hook()
def twelve_pages(options):  # the demo API has 3,000 contacts: abort after the first 120
    return {"data": options["data"], "errors": options["errors"], "abort": options["page_index"] >= 11}


acme.export("contacts", path="/paged/page", query={"page": "{{ paging.page }}", "limit": "10"}, records_path="data",
            page_size=10, paging=Paging(method="page", start=1), hooks={"pre_save_page": twelve_pages})
acme.import_("effects", path="/effects?delay_ms=40", headers={"Idempotency-Key": "{{ record.email }}"},
             mapping=Mapping(fields=(Field(generate="email", extract="email"),)))
acme.flow("copy", steps=[step.export("Pull", "contacts", then=[step.import_("Push", "effects")])])
"""


@pytest.fixture
def project(make_project: ProjectFactory) -> Path:
    return make_project({"acme.py": MODULE})


async def test_a_streaming_flow_killed_mid_run_sends_no_finished_page_again(
    project: Path, api: DemoAPI, start_worker: StartWorker, database_url: str
) -> None:
    async with await Runtime.open(project, database_url=database_url) as rt:
        token = await connect(rt, api)
        serve = await asyncio.to_thread(start_worker, project, "serve", "srv1", database_url)
        async with (
            session(serve.api_url, token) as http,
            http.post("/flows/acme.copy/run", json={"connection_id": "c1", "wait": False}) as answer,
        ):
            assert answer.status == 202, await answer.text()
            run_id = (await answer.json())["id"]

        async def pushed(n: int) -> list[str]:
            return [c.step for c in await children(rt, run_id) if c.status == "succeeded" and c.kind == "import"][:n]

        async def some_pages_pushed() -> bool:
            return len(await pushed(99)) >= 4

        await until(some_pages_pushed, f"pages to be imported\n{serve.output()}")
        assert await asyncio.to_thread(serve.kill) == -signal.SIGKILL
        pushed_before = await pushed(99)
        assert 4 <= len(pushed_before) < 12
        sent_before = counted(api, "requests")

        await asyncio.to_thread(start_worker, project, "serve", "srv1", database_url)
        run = await asyncio.wait_for(rt.flows.wait(run_id), START_TIMEOUT)
        assert run.status == "succeeded", run.error
        assert run.output == {"pages": 12, "records": 120, "errors": 0, "failed_records": 0}
        applied, requests = counted(api, "applied"), counted(api, "requests")
        assert len(applied) == 120 and set(applied.values()) == {1}, "every record applied exactly once"
        pages_before = {int(step.split("[")[1].split("]")[0]) for step in pushed_before}
        emails_before = {f"user{n}@example.com" for page in pages_before for n in range(page * 10 + 1, page * 10 + 11)}
        assert emails_before <= set(sent_before)
        for email in emails_before:
            assert requests[email] == 1, f"{email} was sent again after the crash"
        steps = await children(rt, run_id)
        for index in range(12):
            pages = [c for c in steps if c.step == f"Pull[{index}]" and c.status == "succeeded"]
            assert len(pages) == 1, f"page {index} fetched {len(pages)} times"


ASYNC_MODULE = """
from splice import Integration, auth, step
from splice.resources import Paging

acme = Integration("acme", base_url="{config.api_url}/api", auth=auth.ApiKey())
acme.async_helper("bulk", job_id_path="job.id", status_path="/jobs/{{ job_id }}", status_value_path="state",
                  done_values=["complete"], poll_interval=0.1, time_limit=120,
                  result_path="/jobs/{{ job_id }}/result?limit=10", result_records_path="data",
                  result_paging=Paging(method="page", start=1, param="page"))
acme.export("orders", method="POST", path="/jobs", body={"records": 30, "polls": 40, "outcome": "done"},
            page_size=10, async_helper="bulk")
acme.flow("pull", steps=[step.export("Pull", "orders")])
"""


async def test_a_worker_killed_while_polling_an_async_job_resumes_it_without_submitting_again(
    make_project: ProjectFactory, api: DemoAPI, start_worker: StartWorker, database_url: str
) -> None:
    project = make_project({"acme.py": ASYNC_MODULE})
    async with await Runtime.open(project, database_url=database_url) as rt:
        token = await connect(rt, api)
        serve = await asyncio.to_thread(start_worker, project, "serve", "srv1", database_url)
        submitted = api.stats["jobs.submitted"]
        async with (
            session(serve.api_url, token) as http,
            http.post("/flows/acme.pull/run", json={"connection_id": "c1", "wait": False}) as answer,
        ):
            assert answer.status == 202, await answer.text()
            run_id = (await answer.json())["id"]

        def polls() -> int:
            return sum(n for key, n in api.stats.items() if key.startswith("jobs.polls."))

        before = polls()

        async def polling() -> bool:
            return polls() >= before + 3

        await until(polling, f"the job to be polled\n{serve.output()}")
        assert await asyncio.to_thread(serve.kill) == -signal.SIGKILL
        assert api.stats["jobs.submitted"] == submitted + 1

        await asyncio.to_thread(start_worker, project, "serve", "srv1", database_url)
        run = await asyncio.wait_for(rt.flows.wait(run_id), START_TIMEOUT)
        assert run.status == "succeeded", run.error
        assert run.output == {"pages": 4, "records": 30, "errors": 0, "failed_records": 0}  # the 4th: empty, the last
        assert api.stats["jobs.submitted"] == submitted + 1, "the job was submitted again after the crash"
        submits = [c for c in await children(rt, run_id) if c.step == "Pull[0]"]
        assert [c.status for c in submits] == ["succeeded"]
