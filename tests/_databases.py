"""Throwaway databases for tests: a SQLite file, or a fresh PostgreSQL database.

PostgreSQL is reached through an admin URL (``SPLICE_TEST_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/postgres``). When it cannot be reached the calling
test is skipped with the reason, unless ``SPLICE_REQUIRE_POSTGRES=1`` (CI), which fails it.

>>> url, cleanup = await make_database_url("postgres", tmp_path)
>>> ...
>>> await cleanup()
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy.engine import make_url

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
Cleanup = Callable[[], Awaitable[None]]
T = TypeVar("T")

_unreachable: str | None = None


def admin_url() -> str:
    return os.environ.get("SPLICE_TEST_POSTGRES_URL") or DEFAULT_ADMIN_URL


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_unavailable(reason: str) -> None:
    """Skip (or, with SPLICE_REQUIRE_POSTGRES=1, fail) the current test."""
    message = f"PostgreSQL not reachable at {make_url(admin_url())!r}: {reason}"
    if os.environ.get("SPLICE_REQUIRE_POSTGRES") == "1":
        pytest.fail(message + " (SPLICE_REQUIRE_POSTGRES=1)", pytrace=False)
    pytest.skip(message + " (set SPLICE_TEST_POSTGRES_URL, or start PostgreSQL)")


async def _admin() -> asyncpg.Connection:
    global _unreachable
    if _unreachable is None:
        try:
            return await asyncpg.connect(_asyncpg_dsn(admin_url()), timeout=5)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            _unreachable = " ".join(str(exc).split()) or type(exc).__name__
    postgres_unavailable(_unreachable)
    raise AssertionError("unreachable")  # postgres_unavailable always raises


async def _noop() -> None:
    return None


async def make_database_url(kind: str, tmp_path: Path) -> tuple[str, Cleanup]:
    """A URL to a new, empty database of ``kind`` (``"sqlite"`` or ``"postgres"``) and its
    cleanup coroutine function. PostgreSQL URLs are plain ``postgresql://`` (asyncpg-ready)."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'splice.db'}", _noop
    if kind != "postgres":
        raise ValueError(f"unknown database kind {kind!r}")
    name = f"splice_test_{secrets.token_hex(6)}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()

    async def cleanup() -> None:
        conn = await _admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    url = make_url(admin_url()).set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    return url, cleanup


def run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a private event loop (for sync, session-scoped fixtures)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
