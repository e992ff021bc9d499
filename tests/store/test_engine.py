from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from splice.errors import InvalidInput, SpliceError
from splice.store import LogLine, RunRecord, SecretBox, Store, _engine, open_store
from splice.store._engine import MIGRATIONS_DIR, create_engine, parse_url, redact_url
from splice.store._schema import HEAD_REVISION, VERSION_TABLE, checkpoints, metadata, run_logs, runs


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///rel/x.db", "sqlite+aiosqlite:///rel/x.db"),
        ("sqlite:////abs/x.db", "sqlite+aiosqlite:////abs/x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h:5433/db", "postgresql+asyncpg://u@h:5433/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_urls_normalised_to_async_drivers(url: str, expected: str) -> None:
    assert parse_url(url).render_as_string() == expected


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("mysql://root:hunter2@db/x", "'mysql'"),
        ("postgresql+psycopg2://u:hunter2@h/db", "'postgresql+psycopg2'"),
        ("not a url", "not a url"),
        ("", "''"),
        ("sqlite://", "sqlite://"),
    ],
)
async def test_bad_urls_are_invalid_config(url: str, named: str) -> None:
    with pytest.raises(InvalidInput) as info:
        await open_store(url, SecretBox.generate())
    assert info.value.code == "INVALID_CONFIG"
    assert named in info.value.message
    assert "hunter2" not in info.value.message
    if url.startswith(("mysql", "postgresql+")):
        assert "sqlite:///path/to.db" in info.value.message
        assert "postgresql+asyncpg://" in info.value.message


def test_redact_url() -> None:
    assert redact_url("postgresql://u:hunter2@h/db") == "postgresql://u:***@h/db"
    assert "hunter2" not in redact_url("postgresql://u@h/db?password=hunter2")
    assert redact_url("sqlite:///x.db") == "sqlite:///x.db"


async def test_unreachable_postgres_is_database_unavailable() -> None:
    url = "postgresql://splice:hunter2@127.0.0.1:1/nothing"
    with pytest.raises(SpliceError) as info:
        await open_store(url, SecretBox.generate())
    assert info.value.code == "DATABASE_UNAVAILABLE"
    assert "hunter2" not in str(info.value.to_dict())
    assert "\n" not in info.value.message
    assert "127.0.0.1:1" in info.value.message


async def test_unopenable_sqlite_is_database_unavailable(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-db"
    bogus.write_bytes(b"this is not an SQLite database file, just text " * 50)
    with pytest.raises(SpliceError) as info:
        await open_store(f"sqlite:///{bogus}", SecretBox.generate())
    assert info.value.code == "DATABASE_UNAVAILABLE"


async def test_sqlite_parent_dir_created_and_pragmas_set(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "splice.db"
    async with await open_store(f"sqlite:///{db}", SecretBox.generate()) as store:
        assert db.exists()
        assert store.url == f"sqlite+aiosqlite:///{db}"
        async with store.engine.connect() as conn:
            pragmas = {
                name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            }
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 5000, "foreign_keys": 1}


def test_head_revision_constant_matches_scripts() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


async def _revision(store: Store) -> str | None:
    async with store.engine.connect() as conn:
        return (await conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))).scalar()


async def test_migration_builds_the_declared_schema(fresh_database: str) -> None:
    async with await open_store(fresh_database, SecretBox.generate()) as store:
        assert await _revision(store) == HEAD_REVISION
        async with store.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
            )
    assert [d for d in diff if not _is_version_table(d)] == []


def _is_version_table(diff: object) -> bool:
    return isinstance(diff, tuple) and getattr(diff[1], "name", None) == VERSION_TABLE


def _alembic_upgrade(connection: sa.Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def test_a_0002_database_upgrades_to_head_and_keeps_its_rows(fresh_database: str) -> None:
    t0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    engine = create_engine(parse_url(fresh_database))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_alembic_upgrade, "0002")
            await conn.execute(
                runs.insert().values(
                    id="r1", kind="sync", integration="acme", script="contacts", connection_id="c1",
                    status="running", input=None, output=None, error=None, attempt=1, test_mode=False,
                    created_at=t0, started_at=t0,
                )
            )  # fmt: skip
            await conn.execute(
                run_logs.insert().values(
                    run_id="r1", ts=t0, level="info", message="kept", fields={},
                    integration="acme", script="contacts", connection_id="c1",
                )
            )  # fmt: skip
            await conn.execute(
                checkpoints.insert().values(
                    integration="acme", connection_id="c1", sync="contacts", value={"page": 2}, updated_at=t0
                )
            )
            assert (await conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))).scalar() == "0002"
    finally:
        await engine.dispose()

    async with await open_store(fresh_database, SecretBox.generate()) as store:
        assert await _revision(store) == HEAD_REVISION
        run = await store.runs.get("r1")
        assert (run.status, run.started_at, run.job_id, run.progress) == ("running", t0, None, None)
        assert [log.message for log in await store.runs.search_logs(run_id="r1")] == ["kept"]
        assert await store.checkpoints.get("acme", "c1", "contacts") == {"page": 2}
        assert await store.schedules.find() == []
        await store.runs.set_progress("r1", {"page": 3})
        assert (await store.runs.get("r1")).progress == {"page": 3}
        await store.schedules.set_paused("acme", "contacts", "c1", True)
        async with store.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
            )
    assert [d for d in diff if not _is_version_table(d)] == []


async def test_open_twice_is_idempotent_and_skips_alembic(fresh_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = SecretBox.generate()
    async with await open_store(fresh_database, secrets) as store:
        await store.state.put("global", "", "k", 1)

    async def no_upgrade(db: object) -> None:
        raise AssertionError("an up-to-date database must not run alembic")

    monkeypatch.setattr(_engine, "_upgrade", no_upgrade)
    async with await open_store(fresh_database, secrets) as store:
        assert await store.state.get("global", "", "k") == 1
        assert await _revision(store) == HEAD_REVISION


async def test_concurrent_opens_of_a_fresh_database(fresh_database: str) -> None:
    secrets = SecretBox.generate()
    stores = await asyncio.gather(*(open_store(fresh_database, secrets) for _ in range(4)))
    try:
        for i, store in enumerate(stores):
            await store.state.put("global", "", f"k{i}", i)
        assert await stores[0].state.keys("global", "") == ["k0", "k1", "k2", "k3"]
    finally:
        for store in stores:
            await store.close()


_OPEN_SCRIPT = """
import asyncio, sys
from splice.store import SecretBox, open_store
async def main():
    store = await open_store(sys.argv[1], SecretBox.generate())
    await store.state.put("global", "", sys.argv[2], 1)
    await store.close()
asyncio.run(main())
"""


def test_two_processes_open_a_fresh_database_at_once(fresh_database: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_SCRIPT, fresh_database, f"p{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err


async def test_store_is_a_context_manager_with_redacted_url(database_url: str) -> None:
    async with await open_store(database_url, SecretBox.generate()) as store:
        assert isinstance(store, Store)
        assert store.dialect in ("sqlite", "postgresql")
        assert "Store(" in repr(store)


async def test_database_from_a_newer_splice_is_migration_failed(fresh_database: str) -> None:
    async with await open_store(fresh_database, SecretBox.generate()) as store, store.engine.begin() as conn:
        await conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    with pytest.raises(SpliceError) as info:
        await open_store(fresh_database, SecretBox.generate())
    assert info.value.code == "MIGRATION_FAILED"
    assert "9999" in info.value.message


async def test_in_memory_sqlite() -> None:
    async with await open_store("sqlite:///:memory:", SecretBox.generate()) as store:
        await store.state.put("global", "", "k", 1)
        assert await store.state.get("global", "", "k") == 1


async def test_concurrent_read_modify_writes_from_two_engines(database_url: str) -> None:
    """Two engines (as two processes) interleaving read-then-write transactions never fail
    with "database is locked": SQLite writes take the lock up front."""
    secrets = SecretBox.generate()
    async with await open_store(database_url, secrets) as one, await open_store(database_url, secrets) as two:
        await one.connections.create("acme", "c1", {})
        await one.runs.create(RunRecord(id="r1", kind="action", integration="acme", script="s"))
        line = LogLine(ts=datetime.now(UTC), level="info", message="m")
        work = []
        for i in range(10):
            store = one if i % 2 else two
            work.append(store.connections.update_metadata("acme", "c1", {f"k{i}": i}))
            work.append(store.runs.add_logs("r1", [line]))
        await asyncio.gather(*work)
        assert len(await one.connections.get_metadata("acme", "c1")) == 10
        assert len(await two.runs.search_logs(run_id="r1")) == 10
