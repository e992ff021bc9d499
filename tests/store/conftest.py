"""Fixtures for the store tests: every test taking ``store`` runs on SQLite and PostgreSQL.

SQLite gets a new file per test. PostgreSQL gets one migrated database per session (made and
dropped by ``tests/_databases.py``) that is emptied before each test, which keeps the
suite fast; tests that need a brand-new database use ``fresh_database``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from splice._clock import Clock
from splice.store import SecretBox, Store, open_store
from splice.store._schema import metadata

try:  # the tests directory is importable as a package or, without tests/__init__.py, as a path
    from tests._databases import make_database_url, run_in_thread
except ImportError:  # pragma: no cover - depends on how pytest put tests/ on sys.path
    from _databases import make_database_url, run_in_thread  # type: ignore[no-redef]

KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=KINDS)
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[str]:
    """One migrated PostgreSQL database shared by the session's tests."""
    url, cleanup = run_in_thread(make_database_url("postgres", Path()))
    try:
        run_in_thread(_migrate(url))
        yield url
    finally:
        run_in_thread(cleanup())


async def _migrate(url: str) -> None:
    store = await open_store(url, SecretBox.generate())
    await store.close()


@pytest.fixture
async def database_url(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A URL for this test: a fresh SQLite file, or the session's PostgreSQL database emptied."""
    if db_kind == "sqlite":
        return f"sqlite:///{tmp_path / 'splice.db'}"
    url = str(request.getfixturevalue("postgres_session_url"))
    conn = await asyncpg.connect(url)
    try:  # DELETE, not TRUNCATE: much faster on tables this small
        await conn.execute(";".join(f"DELETE FROM {t.name}" for t in reversed(metadata.sorted_tables)))
    finally:
        await conn.close()
    return url


@pytest.fixture
def secrets() -> SecretBox:
    return SecretBox.generate()


@pytest.fixture
async def store(database_url: str, secrets: SecretBox, request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """The store under test; a test that also takes a ``clock`` fixture gets a store on that clock."""
    clock: Clock | None = request.getfixturevalue("clock") if "clock" in request.fixturenames else None
    opened = await open_store(database_url, secrets, clock=clock)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def fresh_database(db_kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A URL to a new, empty (unmigrated) database of this test's kind."""
    url, cleanup = await make_database_url(db_kind, tmp_path)
    try:
        yield url
    finally:
        await cleanup()
