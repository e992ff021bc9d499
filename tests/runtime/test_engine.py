"""``ctx.engine`` in a real project, in both isolation modes: state by resource and lookup caches
round trip through the parent; another integration's resources are refused until splice.toml grants them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import SPLICE_TOML, ProjectFactory

from splice.runtime import Runtime

PROJECT = """
from splice import Integration, step

shop = Integration("shop", base_url="http://127.0.0.1:9")
crm = Integration("crm", base_url="http://127.0.0.1:9")
shop.lookup_cache("skus", description="ERP item id by SKU")
crm.lookup_cache("accounts")


async def attempt(what):
    try:
        return {"ok": await what()}
    except Exception as exc:
        return {"code": getattr(exc, "code", None), "message": str(exc), "hint": getattr(exc, "hint", None)}


@shop.action
async def remember(ctx, input):
    state = ctx.engine.state
    await state.put("integrations", "shop", "cursor", {"page": 3})
    await state.put("flows", "shop.nightly", "last_order", "SO-1001")
    await state.put("flows", "shop.nightly", "gone", 1)
    deleted = await state.delete("flows", "shop.nightly", "gone")
    return {
        "cursor": await state.get("integrations", "shop", "cursor"),
        "flow_keys": await state.keys("flows", "shop.nightly"),
        "missing": await state.get("flows", "shop.nightly", "gone", default="none"),
        "deleted": deleted,
        "bad_type": await attempt(lambda: state.get("widgets", "shop.x", "k")),
    }


@shop.action
async def fill(ctx, input):
    lookups = ctx.engine.lookups
    put = await lookups.put_data("shop.skus", [{"key": f"A-{i}", "value": str(i)} for i in range(3)]
                                 + [{"key": "B-1", "value": '{"id": 9}'}, {"key": "bad", "value": 5}])
    first = await lookups.get_data("shop.skus", starts_with="A-", page_size=2)
    last = first["data"][-1]["key"]
    second = await lookups.get_data("shop.skus", starts_with="A-", page_size=2, start_after_key=last)
    deleted = await lookups.delete_data("shop.skus", ["A-0", "nope"])
    return {"put": put, "first": first, "second": second, "deleted": deleted,
            "some": await lookups.get_data("shop.skus", keys=["B-1", "A-0"])}


@shop.action
async def make_cache(ctx, input):
    caches = ctx.engine.lookup_caches
    made = await caches.create({"integration": "shop", "name": "carriers", "external_id": "x-1"})
    await ctx.engine.lookups.put_data("shop.carriers", [{"key": "dhl", "value": "DHL Express"}])
    helper = await ctx.engine.async_helpers.create({"integration": "shop", "name": "bulk", "job_id_path": "id",
                                                    "status_path": "/jobs/{{ job_id }}"})
    csv = await ctx.engine.file_definitions.create({"integration": "shop", "name": "csv", "format": "delimited"})
    return {"made": made, "found": await caches.find(external_id="x-1"), "helper": helper["id"], "csv": csv["id"],
            "declared": await attempt(lambda: caches.delete("shop.skus")),
            "other": await attempt(lambda: caches.create({"integration": "crm", "name": "mine"}))}


@shop.action
async def purge(ctx, input):
    return await ctx.engine.lookups.purge_data("shop.skus")


@shop.action
async def reach_crm(ctx, input):
    return {
        "cache": await attempt(lambda: ctx.engine.lookups.get_data("crm.accounts")),
        "put": await attempt(lambda: ctx.engine.lookups.put_data("crm.accounts", [{"key": "k", "value": "v"}])),
        "state": await attempt(lambda: ctx.engine.state.put("integrations", "crm", "k", 1)),
    }


@shop.step()
async def note(ctx, step_results):
    await ctx.engine.state.put("flows", ctx.run.flow, "noted", step_results.trigger)
    return await ctx.engine.lookups.get_data("shop.skus", keys=["B-1"])


shop.flow("nightly", steps=[step.code("Note", note)])
"""

GRANTED = SPLICE_TOML + '\n[engine]\ngrants = {shop = ["crm"]}\n'
Opener = Callable[[str], Any]


@pytest.fixture(params=["process", "none"])
async def open_rt(request: pytest.FixtureRequest, make_project: ProjectFactory) -> AsyncIterator[Opener]:
    opened: list[Runtime] = []

    async def open_(toml: str = SPLICE_TOML) -> Runtime:
        root: Path = make_project({"shop.py": PROJECT}, toml=toml)
        opened.append(await Runtime.open(root, isolation=str(request.param)))
        return opened[-1]

    yield open_
    for rt in opened:
        await rt.close()


async def test_state_by_resource_round_trips(open_rt: Opener) -> None:
    rt = await open_rt()
    run = await rt.run("shop.remember")
    assert run.status == "succeeded", run.error
    out = run.output
    assert out["cursor"] == {"page": 3}
    assert out["flow_keys"] == ["last_order"] and out["missing"] == "none" and out["deleted"] is True
    assert out["bad_type"]["code"] == "INVALID_INPUT"
    assert "integrations, connections, flows, exports, imports, not 'widgets'" in out["bad_type"]["message"]
    # what the script stored is what the Python API reads; an integration's state is ctx.state's too
    assert await rt.resource_state.get("flows", "shop.nightly", "last_order") == "SO-1001"
    assert await rt.state.get("integration", "shop", "cursor") == {"page": 3}


async def test_lookups_round_trip(open_rt: Opener) -> None:
    rt = await open_rt()
    run = await rt.run("shop.fill")
    assert run.status == "succeeded", run.error
    out = run.output
    assert [r.get("status") for r in out["put"]] == ["created"] * 4 + [None]
    assert out["put"][-1]["key"] == "bad" and "value must be a string" in out["put"][-1]["error"]["message"]
    assert out["first"]["data"] == [{"key": "A-0", "value": "0"}, {"key": "A-1", "value": "1"}]
    next_url = "/lookup_caches/shop.skus/data?starts_with=A-&page_size=2&start_after_key=A-1"
    assert out["first"]["next_page_url"] == next_url
    assert out["second"] == {"data": [{"key": "A-2", "value": "2"}], "next_page_url": None}
    assert out["deleted"] == [{"key": "A-0", "deleted": True}, {"key": "nope", "deleted": False}]
    assert out["some"]["data"] == [{"key": "B-1", "value": '{"id": 9}'}]
    assert [e["key"] for e in (await rt.lookups.get_data("shop.skus"))["data"]] == ["A-1", "A-2", "B-1"]
    purged = await rt.run("shop.purge")
    assert purged.output == 3
    assert (await rt.lookups.get("shop.skus"))["entries"] == 0


async def test_a_script_creates_a_lookup_cache_and_fills_it(open_rt: Opener) -> None:
    rt = await open_rt()
    run = await rt.run("shop.make_cache")
    assert run.status == "succeeded", run.error
    out = run.output
    assert out["made"]["id"] == "shop.carriers" and out["made"]["source"] == "api"
    assert [(c["id"], c["entries"]) for c in out["found"]] == [("shop.carriers", 1)]
    assert out["declared"]["code"] == "READ_ONLY"
    assert out["other"]["code"] == "ENGINE_NOT_ALLOWED"
    assert (out["helper"], out["csv"]) == ("shop.bulk", "shop.csv")
    assert (await rt.file_definitions.get("shop.csv"))["format"] == "delimited"
    assert (await rt.lookups.get_data("shop.carriers"))["data"] == [{"key": "dhl", "value": "DHL Express"}]
    assert [c["id"] for c in await rt.lookups.list()] == ["crm.accounts", "shop.carriers", "shop.skus"]


async def test_a_flow_step_reaches_its_integration(open_rt: Opener) -> None:
    rt = await open_rt()
    await rt.lookups.put_data("shop.skus", [{"key": "B-1", "value": "9"}])
    run = await rt.flows.run("shop.nightly", payload={"n": 1})
    assert run.status == "succeeded", run.error
    assert run.output == {"data": [{"key": "B-1", "value": "9"}], "next_page_url": None}
    assert await rt.resource_state.get("flows", "shop.nightly", "noted") == {"n": 1}


async def test_another_integrations_resources_are_refused_until_granted(open_rt: Opener) -> None:
    rt = await open_rt()
    await rt.lookups.put_data("crm.accounts", [{"key": "k", "value": "v"}])
    refused = (await rt.run("shop.reach_crm")).output
    for what in ("cache", "put", "state"):
        assert refused[what]["code"] == "ENGINE_NOT_ALLOWED", refused
        assert "ctx.engine of integration 'shop' may not reach" in refused[what]["message"]
        assert "it belongs to integration 'crm'" in refused[what]["message"]
        assert 'add to splice.toml: [engine] grants = {shop = ["crm"]}' in refused[what]["hint"]
    assert "lookup cache 'crm.accounts'" in refused["cache"]["message"]
    assert (await rt.lookups.get_data("crm.accounts"))["data"] == [{"key": "k", "value": "v"}]  # untouched

    granted = await open_rt(GRANTED)
    await granted.lookups.put_data("crm.accounts", [{"key": "k", "value": "v"}])
    allowed = (await granted.run("shop.reach_crm")).output
    assert allowed["cache"] == {"ok": {"data": [{"key": "k", "value": "v"}], "next_page_url": None}}
    assert allowed["put"] == {"ok": [{"key": "k", "status": "updated"}]}
    assert await granted.resource_state.get("integrations", "crm", "k") == 1


async def test_an_uncaught_refusal_fails_the_run_with_its_code(open_rt: Opener, make_project: ProjectFactory) -> None:
    rt = await open_rt()
    source = "\n@crm.action\nasync def peek(ctx, input):\n    return await ctx.engine.lookups.get_data('shop.skus')\n"
    rt2 = await Runtime.open(make_project({"shop.py": PROJECT + source}), isolation=rt.isolation)
    try:
        run = await rt2.run("crm.peek")
    finally:
        await rt2.close()
    assert run.status == "failed"
    assert run.error["code"] == "ENGINE_NOT_ALLOWED"
    assert "lookup cache 'shop.skus'" in run.error["message"]
