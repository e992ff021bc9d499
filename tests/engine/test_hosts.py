"""Three workers on three "hosts" (network namespaces with their own hostnames) and PostgreSQL over veth.

One host's worker is killed with -9 in the middle of a sync, another's in the middle of a flow;
being on other machines, the survivors cannot see the pid gone and recover each after
``worker_timeout`` of silence. The last worker standing finishes both; the demo API counted
every side effect of the flow exactly once, and the dead attempts say ``WORKER_LOST``.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from tests.conftest import ProjectFactory
from tests.engine import _hosts
from tests.engine._project import syncs
from tests.engine.conftest import START_TIMEOUT, StartWorker, Worker
from tests.engine.test_flows import FLOWS, children, counted
from tests.engine.test_many_workers import TIMEOUT, TOML, running_on
from tests.engine.test_worker import expected_ids, until

from splice.demo.server import DemoAPI
from splice.runtime import Runtime
from splice.store import RunRecord, Stream

pytestmark = pytest.mark.postgres
SHOP_ITEMS = Stream("shop", "s1", "Item")


@pytest.fixture(params=["postgres"])
def database_url(database_url: str) -> str:
    return database_url


@pytest.fixture(scope="module")
def hosts() -> Iterator[_hosts.Hosts]:
    reason = _hosts.unavailable()
    if reason is not None:
        pytest.skip(f"no network namespaces for the test's hosts: {reason}")
    made = _hosts.Hosts(3)
    try:
        made.make()
        with _hosts.Forward((made.service, 5432), ("127.0.0.1", 5432)).running():
            yield made
    finally:
        made.remove()


@pytest.fixture
def api(hosts: _hosts.Hosts) -> Iterator[DemoAPI]:
    """The demo API on the service address: every host reaches it at the same URL."""
    server = DemoAPI(contacts=3000)
    server.start_in_thread(host=hosts.service)
    yield server
    server.stop_thread()


@pytest.fixture
async def workers(
    hosts: _hosts.Hosts, start_worker: StartWorker, make_project: ProjectFactory, database_url: str
) -> AsyncIterator[tuple[Path, list[Worker]]]:
    shop = syncs(delay_ms=20).replace('Integration("acme"', 'Integration("shop"')
    root = make_project({"acme.py": FLOWS, "shop.py": shop}, toml=TOML)
    # the hosts reach PostgreSQL at the service address, through the forward
    there = make_url(database_url).set(host=hosts.service, port=5432).render_as_string(hide_password=False)
    started = await asyncio.gather(*(asyncio.to_thread(start_worker, root, "worker", None, there, hosts.prefix(h))
                                     for h in hosts.names))  # fmt: skip
    yield root, list(started)


async def test_workers_on_three_hosts_finish_a_sync_and_a_flow_whose_workers_were_killed(
    workers: tuple[Path, list[Worker]], api: DemoAPI, database_url: str
) -> None:
    root, started = workers
    assert {w.worker_id.rsplit("-", 1)[0] for w in started} == {"worker-h1", "worker-h2", "worker-h3"}
    async with await Runtime.open(root, database_url=database_url) as rt:
        await rt.connections.add("shop", "s1", {"api_key": "demo-key"}, config={"api_url": api.url})
        await rt.connections.add("acme", "c1", {"api_key": "demo-key"}, config={"api_url": api.url})

        async def sync_runs() -> list[RunRecord]:
            return list(reversed(await rt.runs.find(integration="shop", script="items")))

        job = await rt.syncs.trigger("shop.items", "s1")
        first_victim = await running_on(started, sync_runs, "the sync")

        async def some_stored() -> bool:
            return (await rt.store.records.count(SHOP_ITEMS))["live"] >= 600

        await until(some_stored, "records to arrive")
        killed_at = time.monotonic()
        assert await asyncio.to_thread(first_victim.kill) == -signal.SIGKILL
        summary = await asyncio.wait_for(rt.wait_job(job), START_TIMEOUT + 2 * TIMEOUT)
        assert summary["status"] == "succeeded", summary
        assert time.monotonic() - killed_at >= TIMEOUT  # another host: only its silence tells
        lost, resumed = await sync_runs()
        assert (lost.owner, lost.error["code"]) == (first_victim.worker_id, "WORKER_LOST")
        assert resumed.owner != first_victim.worker_id and resumed.status == "succeeded"
        page = await rt.records.read("shop", "Item", connection="s1", limit=10_000)
        assert sorted(r["id"] for r in page.records) == expected_ids(3000)

        survivors = [w for w in started if w is not first_victim]
        run = await rt.flows.run("acme.twenty", connection="c1", background=True)
        second_victim = await running_on(survivors, lambda: rt.runs.find(parent_id=run.id, limit=100), "the flow")

        async def five_done() -> bool:
            return len([c for c in await children(rt, run.id) if c.status == "succeeded"]) >= 5

        await until(five_done, "five steps to finish")
        assert await asyncio.to_thread(second_victim.kill) == -signal.SIGKILL
        done = await asyncio.wait_for(rt.flows.wait(run.id), START_TIMEOUT + 2 * TIMEOUT)
        assert done.status == "succeeded", done.error
        keys = {f"{run.id}:Step {n:02d}" for n in range(1, 21)}
        assert counted(api, "applied") == dict.fromkeys(keys, 1), "every step's effect applied exactly once"
        (last,) = [w for w in survivors if w is not second_victim]
        steps = await children(rt, run.id)
        assert {c.error["code"] for c in steps if c.status == "failed"} == {"WORKER_LOST"}
        assert {c.owner for c in steps if c.status == "failed"} == {second_victim.worker_id}
        assert last.worker_id in {c.owner for c in steps if c.status == "succeeded"}
        gone = {w.id: w for w in await rt.store.workers.list()}
        assert gone[first_victim.worker_id].status == gone[second_victim.worker_id].status == "lost"
