from __future__ import annotations

import pytest

from splice.errors import AlreadyExists, InvalidInput, NotFound
from splice.store import RunRecord, Store


def _doc(name: str, integration: str = "acme", **fields: object) -> dict[str, object]:
    return {"id": f"{integration}.{name}", "integration": integration, "name": name, **fields}


async def test_create_get_find_replace_delete(store: Store) -> None:
    made = await store.resources.create("exports", _doc("contacts", path="/contacts", external_id="x-1"))
    assert made.id == "acme.contacts" and made.external_id == "x-1"
    await store.resources.create("exports", _doc("orders", integration="crm", path="/orders"))
    await store.resources.create("imports", _doc("contacts", path="/in"))  # same id, another type

    got = await store.resources.get("exports", "acme.contacts")
    assert got.document["path"] == "/contacts" and got.created_at == made.created_at
    assert [r.id for r in await store.resources.find("exports")] == ["acme.contacts", "crm.orders"]
    assert [r.id for r in await store.resources.find("exports", external_id="x-1")] == ["acme.contacts"]
    assert [r.id for r in await store.resources.find("exports", integrations=["crm"])] == ["crm.orders"]

    replaced = await store.resources.replace("exports", _doc("contacts", path="/people"))
    assert replaced.document["path"] == "/people" and replaced.external_id is None
    assert replaced.updated_at >= replaced.created_at

    await store.resources.delete("exports", "acme.contacts")
    with pytest.raises(NotFound, match=r"export 'acme\.contacts' not found"):
        await store.resources.get("exports", "acme.contacts")
    assert (await store.resources.get("imports", "acme.contacts")).document["path"] == "/in"


async def test_a_taken_id_or_a_missing_one_is_refused_and_nothing_changes(store: Store) -> None:
    await store.resources.create("exports", _doc("contacts", path="/contacts"))
    with pytest.raises(AlreadyExists, match="already exists"):
        await store.resources.create("exports", _doc("contacts", path="/other"))
    with pytest.raises(NotFound):
        await store.resources.replace("exports", _doc("missing"))
    with pytest.raises(NotFound):
        await store.resources.delete("exports", "acme.missing")
    assert (await store.resources.get("exports", "acme.contacts")).document["path"] == "/contacts"


async def test_nul_in_an_id_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInput):
        await store.resources.get("exports", "acme.a\x00b")


async def test_record_errors_are_listed_marked_and_go_with_their_run(store: Store) -> None:
    await store.runs.create(RunRecord(id="r1", kind="import", integration="acme", script="contacts"))
    errors = [
        {"id": f"e{i}", "stage": "submit", "code": "API_ERROR", "message": f"record {i} refused",
         "error": {"status": 422}, "retry_data": {"stage": "submit", "data": {"n": i}}}
        for i in range(3)
    ]  # fmt: skip
    assert await store.run_errors.add("r1", errors) == ["e0", "e1", "e2"]
    listed = await store.run_errors.list("r1")
    assert [e.id for e in listed] == ["e0", "e1", "e2"]
    assert listed[1].retry_data == {"stage": "submit", "data": {"n": 1}}
    await store.run_errors.mark(["e1"], "retried")
    assert [e.id for e in await store.run_errors.list("r1", status="open")] == ["e0", "e2"]
    assert (await store.run_errors.get("e1")).retried_at is not None
    await store.runs.delete("r1")
    assert await store.run_errors.count("r1") == 0
