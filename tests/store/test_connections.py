from __future__ import annotations

import asyncio
from datetime import UTC
from pathlib import Path

import pytest
import sqlalchemy as sa

from splice.errors import AlreadyExists, InvalidInput, NotFound
from splice.store import Connection, SecretBox, Store, open_store
from splice.store._schema import connections

SECRET = "sk_live_very_secret_value_42"


async def test_create_and_get(store: Store) -> None:
    created = await store.connections.create(
        "acme", "c1", {"api_key": SECRET}, config={"region": "eu"}, metadata={"team": 7}
    )
    got = await store.connections.get("acme", "c1")
    assert got == created
    assert got.credentials == {"api_key": SECRET}
    assert got.config == {"region": "eu"} and got.metadata == {"team": 7}
    assert got.status == "ok" and got.status_error is None
    assert got.created_at.tzinfo is UTC and got.updated_at.tzinfo is UTC


async def test_defaults_are_empty_dicts(store: Store) -> None:
    conn = await store.connections.create("acme", "c1", {})
    assert (conn.config, conn.metadata) == ({}, {})
    assert (await store.connections.get("acme", "c1")).config == {}


async def test_repr_and_public_hide_credentials(store: Store) -> None:
    conn = await store.connections.create("acme", "c1", {"api_key": SECRET, "b": "x"})
    assert SECRET not in repr(conn) and SECRET not in str(conn)
    assert "credential_fields=['api_key', 'b']" in repr(conn)
    public = conn.public()
    assert "credentials" not in public
    assert SECRET not in str(public)
    assert public["credential_fields"] == ["api_key", "b"]
    assert public["id"] == "c1" and public["integration"] == "acme"


async def test_credentials_encrypted_at_rest(store: Store, secrets: SecretBox) -> None:
    await store.connections.create("acme", "c1", {"api_key": SECRET}, config={"v": "plain-cfg"})
    async with store.engine.connect() as conn:
        raw = (await conn.execute(sa.select(connections.c.credentials))).scalar_one()
    assert isinstance(raw, bytes)
    assert SECRET.encode() not in raw
    assert secrets.decrypt(raw) == {"api_key": SECRET}


async def test_secret_absent_from_sqlite_file(tmp_path: Path, secrets: SecretBox) -> None:
    db = tmp_path / "splice.db"
    async with await open_store(f"sqlite:///{db}", secrets) as store:
        await store.connections.create("acme", "c1", {"api_key": SECRET}, config={"v": "CFGMARK"})
        await store.env.set("API_TOKEN", SECRET)
        files = [db, *tmp_path.glob("splice.db-*")]
        data = b"".join(path.read_bytes() for path in files)
    assert b"CFGMARK" in data  # the grep works: unencrypted columns are visible
    assert SECRET.encode() not in data


async def test_create_twice_is_already_exists(store: Store) -> None:
    await store.connections.create("acme", "c1", {})
    with pytest.raises(AlreadyExists) as info:
        await store.connections.create("acme", "c1", {"other": 1})
    assert "'c1'" in info.value.message and "'acme'" in info.value.message
    assert "splice connections delete" in (info.value.hint or "")
    assert (await store.connections.get("acme", "c1")).credentials == {}
    await store.connections.create("other", "c1", {})  # ids are per integration


@pytest.mark.parametrize("bad", ["", "has space", "slash/id", "x" * 129, "ünï", None])
async def test_invalid_ids(store: Store, bad: object) -> None:
    with pytest.raises(InvalidInput) as info:
        await store.connections.create("acme", bad, {})  # type: ignore[arg-type]
    assert repr(bad) in info.value.message or repr(bad)[:40] in info.value.message


async def test_valid_id_characters(store: Store) -> None:
    await store.connections.create("acme", "A-z_0.9:x@y", {})
    await store.connections.create("acme", "x" * 128, {})
    assert [c.id for c in await store.connections.find("acme")] == ["A-z_0.9:x@y", "x" * 128]


@pytest.mark.parametrize(
    ("credentials", "config", "metadata"),
    [([], None, None), ({}, "x", None), ({}, None, 5), ({"a": {1, 2}}, None, None)],
)
async def test_non_dicts_refused(store: Store, credentials: object, config: object, metadata: object) -> None:
    with pytest.raises(InvalidInput):
        await store.connections.create("acme", "c1", credentials, config, metadata)  # type: ignore[arg-type]
    assert await store.connections.find() == []


async def test_get_missing_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound) as info:
        await store.connections.get("acme", "c1")
    assert info.value.message == "connection 'c1' of integration 'acme' not found"
    assert info.value.hint == "splice connections list"


async def test_find_is_ordered_and_filters(store: Store) -> None:
    for integration, id in [("zeta", "a"), ("acme", "b"), ("acme", "B"), ("acme", "a-1")]:
        await store.connections.create(integration, id, {"k": id})
    found = await store.connections.find()
    assert [(c.integration, c.id) for c in found] == [("acme", "B"), ("acme", "a-1"), ("acme", "b"), ("zeta", "a")]
    assert all(isinstance(c, Connection) for c in found)
    assert [c.id for c in await store.connections.find("zeta")] == ["a"]
    assert await store.connections.find("nobody") == []


async def test_delete_removes_connection_and_its_state(store: Store) -> None:
    await store.connections.create("acme", "c1", {})
    await store.connections.create("acme", "c10", {})
    scope_id = store.state.connection_scope_id
    await store.state.put("connection", scope_id("acme", "c1"), "k", 1)
    await store.state.put("script", scope_id("acme", "c1", "contacts"), "k", 2)
    await store.state.put("connection", scope_id("acme", "c10"), "k", 3)
    await store.state.put("integration", "acme", "k", 4)
    await store.connections.delete("acme", "c1")
    with pytest.raises(NotFound):
        await store.connections.get("acme", "c1")
    assert await store.state.get("connection", "acme/c1", "k") is None
    assert await store.state.get("script", "acme/c1/contacts", "k") is None
    assert await store.state.get("connection", "acme/c10", "k") == 3
    assert await store.state.get("integration", "acme", "k") == 4
    with pytest.raises(NotFound):
        await store.connections.delete("acme", "c1")


async def test_delete_escapes_like_wildcards(store: Store) -> None:
    await store.connections.create("acme", "c_1", {})
    await store.state.put("connection", "acme/cX1/x", "k", 1)
    await store.connections.delete("acme", "c_1")
    assert await store.state.get("connection", "acme/cX1/x", "k") == 1


async def test_update_credentials_unconditional(store: Store) -> None:
    await store.connections.create("acme", "c1", {"token": "old"})
    await store.connections.set_status("acme", "c1", "error", {"code": "REFRESH_FAILED"})
    before = await store.connections.get("acme", "c1")
    assert await store.connections.update_credentials("acme", "c1", {"token": "new"}) is True
    after = await store.connections.get("acme", "c1")
    assert after.credentials == {"token": "new"}
    assert after.status == "ok" and after.status_error is None
    assert after.updated_at >= before.updated_at
    with pytest.raises(NotFound):
        await store.connections.update_credentials("acme", "nope", {})


async def test_update_credentials_compare_and_set(store: Store) -> None:
    await store.connections.create("acme", "c1", {"token": "t1"})
    assert not await store.connections.update_credentials("acme", "c1", {"token": "t3"}, expected={"token": "stale"})
    assert (await store.connections.get("acme", "c1")).credentials == {"token": "t1"}
    assert await store.connections.update_credentials("acme", "c1", {"token": "t2"}, expected={"token": "t1"})
    assert (await store.connections.get("acme", "c1")).credentials == {"token": "t2"}
    with pytest.raises(NotFound):
        await store.connections.update_credentials("acme", "nope", {}, expected={})


async def test_compare_and_set_race_has_one_winner(store: Store) -> None:
    await store.connections.create("acme", "c1", {"token": "t0"})
    results = await asyncio.gather(
        *(
            store.connections.update_credentials("acme", "c1", {"token": f"t-{i}"}, expected={"token": "t0"})
            for i in range(5)
        )
    )
    assert sorted(results) == [False, False, False, False, True]
    winner = results.index(True)
    assert (await store.connections.get("acme", "c1")).credentials == {"token": f"t-{winner}"}


async def test_set_status_and_config(store: Store) -> None:
    await store.connections.create("acme", "c1", {}, config={"a": 1})
    await store.connections.set_status("acme", "c1", "error", {"code": "X", "message": "m"})
    conn = await store.connections.get("acme", "c1")
    assert conn.status == "error" and conn.status_error == {"code": "X", "message": "m"}
    await store.connections.set_status("acme", "c1", "ok", None)
    assert (await store.connections.get("acme", "c1")).status_error is None
    with pytest.raises(InvalidInput):
        await store.connections.set_status("acme", "c1", "broken", None)
    await store.connections.set_config("acme", "c1", {"b": 2})
    assert (await store.connections.get("acme", "c1")).config == {"b": 2}
    with pytest.raises(InvalidInput):
        await store.connections.set_config("acme", "c1", [1])  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await store.connections.set_status("acme", "nope", "ok", None)
    with pytest.raises(NotFound):
        await store.connections.set_config("acme", "nope", {})


async def test_metadata(store: Store) -> None:
    await store.connections.create("acme", "c1", {}, metadata={"a": 1, "b": {"x": 1}})
    assert await store.connections.get_metadata("acme", "c1") == {"a": 1, "b": {"x": 1}}
    merged = await store.connections.update_metadata("acme", "c1", {"b": {"y": 2}, "c": 3})
    assert merged == {"a": 1, "b": {"y": 2}, "c": 3}  # shallow
    assert await store.connections.get_metadata("acme", "c1") == merged
    await store.connections.set_metadata("acme", "c1", {"only": True})
    assert await store.connections.get_metadata("acme", "c1") == {"only": True}
    for bad in ([1], "s", None):
        with pytest.raises(InvalidInput):
            await store.connections.set_metadata("acme", "c1", bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput):
            await store.connections.update_metadata("acme", "c1", bad)  # type: ignore[arg-type]
    assert await store.connections.get_metadata("acme", "c1") == {"only": True}
    for call in (
        store.connections.get_metadata("acme", "nope"),
        store.connections.set_metadata("acme", "nope", {}),
        store.connections.update_metadata("acme", "nope", {}),
    ):
        with pytest.raises(NotFound):
            await call


async def test_concurrent_metadata_updates_all_land(store: Store) -> None:
    await store.connections.create("acme", "c1", {})
    await asyncio.gather(*(store.connections.update_metadata("acme", "c1", {f"k{i}": i}) for i in range(8)))
    assert await store.connections.get_metadata("acme", "c1") == {f"k{i}": i for i in range(8)}
