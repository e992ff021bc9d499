"""Syncs run once (no scheduler yet): records, checkpoints, validation, track_deletes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from tests.conftest import ProjectFactory

from splice.demo.server import DemoAPI
from splice.errors import InvalidInput, ProjectError
from splice.project import load_project
from splice.runtime import Runtime
from splice.store import Stream

SYNCS = """
from pydantic import BaseModel
from splice import Integration, auth, paginate

acme = Integration(
    "acme", base_url="{config.api_url}/api", auth=auth.ApiKey(),
    paginate=paginate.Cursor(cursor_path="meta.next", cursor_param="cursor", limit_param="limit", limit=50),
)

class Contact(BaseModel):
    id: str
    email: str
    name: str = ""

class Note(BaseModel):
    id: int
    text: str

@acme.sync(models=[Contact], every="15m", track_deletes=True)
async def contacts(ctx):
    checkpoint = await ctx.checkpoint.get()
    pages = 0
    async for page in ctx.api.paginate("/contacts"):
        await ctx.records.save(page)
        pages += 1
    await ctx.checkpoint.save({"runs": checkpoint.get("runs", 0) + 1})
    return {"pages": pages}

@acme.sync(models=[Contact, Note], cron="*/5 * * * *", track_deletes=True)
async def mixed(ctx):
    result = await ctx.records.save([
        {"id": "a1", "email": "a@x.test"},
        {"id": "a2"},
        Contact(id="a3", email="c@x.test"),
    ], model="Contact")
    await ctx.records.save([{"id": 1, "text": "hi"}, {"id": 2, "text": "there"}], model="Note")
    await ctx.records.update([{"id": "a1", "name": "Ada"}], model="Contact")
    await ctx.records.delete(["a3"], model="Contact")
    return result

@acme.sync(models=[Contact], every="1h", track_deletes=True)
async def half_then_fail(ctx):
    await ctx.records.save([{"id": "c0001", "email": "changed@x.test"}])
    raise RuntimeError("the API went away")

@acme.sync(models=[Contact], every="1h")
async def bad_checkpoint(ctx):
    await ctx.checkpoint.save({"ok": 1})
    try:
        await ctx.checkpoint.save({"when": object()})
    except Exception as exc:
        return {"error": str(exc), "kept": await ctx.checkpoint.get()}

@acme.action
async def sneaky(ctx, input):
    return hasattr(ctx, "records")
"""


@pytest.fixture(params=["process", "none"])
async def rt(request: pytest.FixtureRequest, make_project: ProjectFactory, demo_api: DemoAPI) -> AsyncIterator[Runtime]:
    runtime = await Runtime.open(make_project({"acme.py": SYNCS}), isolation=request.param)
    await runtime.connections.add("acme", "c1", {"api_key": "demo-key"}, config={"api_url": demo_api.url})
    yield runtime
    await runtime.close()


async def read_all(rt: Runtime, model: str = "Contact") -> list[dict]:
    page = await rt.store.records.read(Stream("acme", "c1", model), limit=10000)
    return page.records


async def test_first_run_adds_then_unchanged_then_deletions_tracked(rt: Runtime, demo_api: DemoAPI) -> None:
    first = await rt.run("acme.contacts", connection="c1")
    assert first.status == "succeeded", first.error
    assert first.output["records"]["Contact"]["added"] == 120
    assert first.output["result"] == {"pages": 3}
    second = await rt.run("acme.contacts", connection="c1")
    assert second.output["records"]["Contact"] == {
        "added": 0,
        "updated": 0,
        "unchanged": 120,
        "deleted": 0,
        "rejected": 0,
        "invalid": 0,
    }
    async with aiohttp.ClientSession(headers={"X-API-Key": "demo-key"}) as session:
        await session.delete(f"{demo_api.url}/api/contacts/c0007")
    third = await rt.run("acme.contacts", connection="c1")
    assert third.output["records"]["Contact"]["deleted"] == 1
    records = {r["id"]: r for r in await read_all(rt)}
    assert len(records) == 120
    assert records["c0007"]["_splice"]["last_action"] == "DELETED"
    assert records["c0007"]["_splice"]["deleted_at"] is not None
    assert await rt.store.checkpoints.get("acme", "c1", "contacts") == {"runs": 3}


async def test_invalid_items_are_reported_and_the_rest_saved(rt: Runtime) -> None:
    run = await rt.run("acme.mixed", connection="c1")
    assert run.status == "succeeded", run.error
    assert run.output["result"]["accepted"] == 2
    assert run.output["result"]["invalid"][0]["id"] == "a2"
    assert "email" in run.output["result"]["invalid"][0]["error"]
    counts = run.output["records"]
    assert counts["Contact"] == {"added": 2, "updated": 1, "unchanged": 0, "deleted": 1, "rejected": 0, "invalid": 1}
    assert counts["Note"]["added"] == 2
    contacts = {r["id"]: r for r in await read_all(rt)}
    assert contacts["a1"]["name"] == "Ada"
    assert contacts["a3"]["_splice"]["last_action"] == "DELETED"
    warnings = await rt.runs.logs(run_id=run.id, level="warning")
    assert any("a2" in line.message and "email" in line.message for line in warnings)


async def test_a_failed_run_deletes_nothing(rt: Runtime) -> None:
    await rt.run("acme.contacts", connection="c1")
    run = await rt.run("acme.half_then_fail", connection="c1")
    assert run.status == "failed"
    records = await read_all(rt)
    assert len(records) == 120
    assert all(r["_splice"]["deleted_at"] is None for r in records)
    changed = next(r for r in records if r["id"] == "c0001")
    assert changed["email"] == "changed@x.test"


async def test_bad_checkpoint_is_refused_and_the_old_one_kept(rt: Runtime) -> None:
    run = await rt.run("acme.bad_checkpoint", connection="c1")
    assert "not JSON" in run.output["result"]["error"] or "JSON" in run.output["result"]["error"]
    assert run.output["result"]["kept"] == {"ok": 1}


async def test_syncs_take_no_input_and_actions_have_no_records(rt: Runtime) -> None:
    with pytest.raises(InvalidInput, match="syncs take no input"):
        await rt.run("acme.contacts", connection="c1", input={"x": 1})
    assert (await rt.run("acme.sneaky", connection="c1")).output is False


@pytest.mark.parametrize(
    ("decorator", "message"),
    [
        ('every="10s"', "outside 30s"),
        ('every="soon"', "is not an interval"),
        ('cron="every day"', "not a valid cron expression"),
        ('every="1h", cron="* * * * *"', "exactly one of"),
    ],
)
def test_bad_schedules_are_named(make_project: ProjectFactory, decorator: str, message: str) -> None:
    source = f"""
from pydantic import BaseModel
from splice import Integration

class Thing(BaseModel):
    id: str

x = Integration("x", base_url="https://x.test")

@x.sync(models=[Thing], {decorator})
async def things(ctx):
    pass
"""
    with pytest.raises(ProjectError, match=message):
        load_project(make_project({"x.py": source}))


def test_models_need_an_id(make_project: ProjectFactory) -> None:
    source = """
from pydantic import BaseModel
from splice import Integration

class Thing(BaseModel):
    name: str

x = Integration("x", base_url="https://x.test")

@x.sync(models=[Thing], every="1h")
async def things(ctx):
    pass
"""
    with pytest.raises(ProjectError, match="model Thing needs an id field"):
        load_project(make_project({"x.py": source}))


async def test_deleting_a_connection_deletes_its_records_and_checkpoints(rt: Runtime, demo_api: DemoAPI) -> None:
    await rt.run("acme.contacts", connection="c1")
    await rt.connections.delete("acme", "c1")
    await rt.connections.add("acme", "c1", {"api_key": "demo-key"}, config={"api_url": demo_api.url})
    assert await read_all(rt) == []
    assert await rt.store.checkpoints.get("acme", "c1", "contacts") == {}


async def test_a_checkpoint_is_written_with_the_records_before_it(
    make_project: ProjectFactory, demo_api: DemoAPI
) -> None:
    source = (
        SYNCS
        + """
@acme.sync(models=[Contact], every="1h")
async def crashy(ctx):
    await ctx.records.save([{"id": f"k{i}", "email": "k@x.test"} for i in range(5)])
    await ctx.checkpoint.save({"n": 5})
    await ctx.records.save([{"id": f"k{i}", "email": "k@x.test"} for i in range(5, 10)])
    import os
    os._exit(9)
"""
    )
    async with await Runtime.open(make_project({"acme.py": source})) as rt:
        await rt.connections.add("acme", "c1", {"api_key": "demo-key"}, config={"api_url": demo_api.url})
        run = await rt.run("acme.crashy", connection="c1")
        assert run.error["code"] == "CHILD_CRASHED"
        assert await rt.store.checkpoints.get("acme", "c1", "crashy") == {"n": 5}
        assert len(await read_all(rt)) == 10


async def test_large_syncs_are_written_in_ordered_batches(make_project: ProjectFactory, demo_api: DemoAPI) -> None:
    source = (
        SYNCS
        + """
@acme.sync(models=[Contact], every="1h")
async def bulk(ctx):
    for start in range(0, 2500, 100):
        await ctx.records.save([{"id": f"b{i:05d}", "email": f"{i}@x.test"} for i in range(start, start + 100)])
        if start == 1400:
            await ctx.checkpoint.save({"n": 1500})
    await ctx.records.update([{"id": "b00000", "name": "first"}])
    await ctx.records.delete(["b02499"])
"""
    )
    async with await Runtime.open(make_project({"acme.py": source})) as rt:
        await rt.connections.add("acme", "c1", {"api_key": "demo-key"}, config={"api_url": demo_api.url})
        run = await rt.run("acme.bulk", connection="c1")
        assert run.status == "succeeded", run.error
        assert run.output["records"]["Contact"] == {
            "added": 2500,
            "updated": 1,
            "unchanged": 0,
            "deleted": 1,
            "rejected": 0,
            "invalid": 0,
        }
        records = await read_all(rt)
        assert len(records) == 2500
        by_id = {r["id"]: r for r in records}
        assert by_id["b00000"]["name"] == "first"
        assert by_id["b02499"]["_splice"]["last_action"] == "DELETED"
        cursors = [r["_splice"]["cursor"] for r in records]
        assert len(set(cursors)) == 2500
        assert await rt.store.checkpoints.get("acme", "c1", "bulk") == {"n": 1500}
