"""``store.deploys``: numbered versions, newest current, rollbacks appended, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from splice.errors import NotFound
from splice.store import Store


async def test_versions_are_numbered_from_one_and_the_newest_is_current(store: Store) -> None:
    assert await store.deploys.newest() is None
    first = await store.deploys.create(b"one", "d1", created_by="ci", message="first")
    second = await store.deploys.create(b"two", "d2")
    assert (first.number, second.number) == (1, 2)
    assert (await store.deploys.newest()) == second
    assert [v.number for v in await store.deploys.list()] == [2, 1]
    assert (await store.deploys.get(1)).to_dict()["message"] == "first"
    assert await store.deploys.archive(1) == b"one"
    assert (first.size, first.created_by) == (3, "ci")


async def test_a_rollback_appends_the_older_archive(store: Store) -> None:
    for data in (b"one", b"two", b"three"):
        await store.deploys.create(data, data.decode())
    back = await store.deploys.rollback(created_by="ops")
    assert (back.number, back.rollback_of, back.digest) == (4, 2, "two")
    assert await store.deploys.archive(4) == b"two"
    again = await store.deploys.rollback(1)
    assert (again.number, again.rollback_of) == (5, 1)
    assert await store.deploys.archive(5) == b"one"
    assert (await store.deploys.newest()) == again


async def test_rollback_to_nothing_or_an_unknown_version_changes_nothing(store: Store) -> None:
    with pytest.raises(NotFound, match="nothing is deployed"):
        await store.deploys.rollback()
    await store.deploys.create(b"one", "d1")
    with pytest.raises(NotFound, match="only deployed version"):
        await store.deploys.rollback()
    with pytest.raises(NotFound, match="no deployed version 7") as caught:
        await store.deploys.rollback(7)
    assert caught.value.hint_for("rest") == "GET /deploys lists them"
    assert [v.number for v in await store.deploys.list()] == [1]
    with pytest.raises(NotFound):
        await store.deploys.archive(2)


async def test_deploys_at_once_get_distinct_numbers(store: Store) -> None:
    made = await asyncio.gather(*(store.deploys.create(bytes([i]), str(i)) for i in range(6)))
    assert sorted(v.number for v in made) == [1, 2, 3, 4, 5, 6]
