"""Database URLs, engines and migrations: everything that differs between SQLite and PostgreSQL.

The rest of the store writes portable Core statements against a :class:`Database`, which
hands out two kinds of connection:

* :meth:`Database.read` — one statement, no transaction round-trips (SQLite: no ``BEGIN``;
  PostgreSQL: autocommit), because most calls are a single ``SELECT``.
* :meth:`Database.write` — a transaction. On SQLite it begins with ``BEGIN IMMEDIATE``, so
  the write lock is held from the first statement: a deferred transaction that reads and
  then writes fails at once with ``database is locked`` when another process wrote in
  between, without waiting for ``busy_timeout``. On PostgreSQL, read-modify-write callers
  add ``FOR UPDATE`` to their ``SELECT``.

SQLite's hot paths (the record store) can also run a whole function on the driver's thread
in one round trip: :meth:`Database.sqlite_immediate` (a write transaction) and
:meth:`Database.sqlite_call` (a read), see :func:`on_driver_thread`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolResetState

from splice.errors import InvalidInput, SpliceError, Unavailable
from splice.store._schema import HEAD_REVISION, VERSION_TABLE, dumps_json

ACCEPTED_FORMS = (
    "sqlite:///path/to.db, sqlite+aiosqlite:///path/to.db, postgresql://user@host/db, "
    "postgres://user@host/db, postgresql+asyncpg://user@host/db"
)
_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
_USERINFO_PASSWORD = re.compile(r"(://[^:/@]*):[^/]*@")
#: pg_advisory_xact_lock key serialising concurrent migrations ("splice" in ASCII)
_MIGRATION_LOCK_KEY = 0x73706C696365
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
#: seconds asyncpg waits for a PostgreSQL server before DATABASE_UNAVAILABLE
_CONNECT_TIMEOUT = 10
#: WAL pages after which a commit checkpoints (SQLite's default: 1,000): a backstop, since
#: :class:`WalCheckpointer` normally checkpoints first, off the commit path
_AUTOCHECKPOINT_PAGES = 4000
#: bytes written to the WAL, as reported to :class:`WalCheckpointer`, between checkpoints
_CHECKPOINT_BYTES = 4 << 20
T = TypeVar("T")


def redact_url(url: str | URL) -> str:
    """The URL with its password (and any ``password=`` query value) replaced by ``***``."""
    if isinstance(url, str):
        try:
            url = make_url(url)
        except Exception:
            return _USERINFO_PASSWORD.sub(r"\1:***@", url)
    if "password" in url.query:
        url = url.update_query_dict({"password": "***"})
    return url.render_as_string(hide_password=True)


def parse_url(url: str) -> URL:
    """Normalise a user's database URL to an async driver, or raise INVALID_CONFIG."""
    try:
        parsed = make_url(url)
    except Exception:
        raise InvalidInput(
            f"cannot parse database URL {redact_url(url)!r}; accepted forms: {ACCEPTED_FORMS}",
            code="INVALID_CONFIG",
        ) from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise InvalidInput(
            f"unsupported database URL scheme {parsed.drivername!r} in {redact_url(parsed)}; "
            f"accepted forms: {ACCEPTED_FORMS}",
            code="INVALID_CONFIG",
            details={"scheme": parsed.drivername},
        )
    parsed = parsed.set(drivername=driver)
    if driver.startswith("sqlite") and not parsed.database:
        raise InvalidInput(f"SQLite URL {url!r} names no file; use sqlite:///path/to.db", code="INVALID_CONFIG")
    return parsed


def _is_file_db(url: URL) -> bool:
    db = url.database or ""
    return db != ":memory:" and not db.startswith("file:")


def create_engine(url: URL) -> AsyncEngine:
    """An engine for a normalised URL; SQLite gets its pragmas and transaction control."""
    json_args: dict[str, Any] = {
        "json_serializer": dumps_json,
        "json_deserializer": orjson.loads,
    }
    if url.drivername.startswith("postgresql"):
        connect_args = {} if "timeout" in url.query else {"timeout": _CONNECT_TIMEOUT}
        return create_async_engine(url, connect_args=connect_args, **json_args)
    if _is_file_db(url):
        Path(url.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, pool_reset_on_return=None, **json_args)
    event.listen(engine.sync_engine, "connect", _sqlite_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_begin)
    event.listen(engine.sync_engine, "reset", _sqlite_reset)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout = 5000")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {_AUTOCHECKPOINT_PAGES}")
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0] not in ("wal", "memory"):
            _enable_wal(cursor)
    finally:
        cursor.close()


def _enable_wal(cursor: Any, timeout: float = 5.0) -> None:
    """Switch a fresh file to WAL. The switch needs the file to itself and SQLite answers
    "database is locked" at once, without its busy handler, while another process opening
    the same fresh file holds a lock: retry for up to ``timeout`` seconds (this runs on the
    driver's thread, so sleeping blocks no event loop)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_begin(conn: sa.Connection) -> None:
    options = conn.get_execution_options()
    if options.get("splice_read"):
        return
    # Every write transaction takes the write lock up front: a deferred one that first reads
    # can fail at once with SQLITE_BUSY (stale WAL snapshot) instead of waiting busy_timeout.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
    """Roll back a connection going back to the pool only if it is inside a transaction.

    SQLAlchemy's default rolls back every returned connection, one more aiosqlite thread
    round trip each time, though a write transaction has already committed or rolled back
    by then and reads run without ``BEGIN``. ``in_transaction`` is sqlite3's own flag, read
    without a round trip.
    """
    if not state.asyncio_safe:
        return  # garbage-collected outside the event loop: SQLAlchemy skips the reset too
    try:
        busy = dbapi_connection.driver_connection.in_transaction
    except ValueError:  # aiosqlite: the connection is already closed
        return
    if busy:
        dbapi_connection.rollback()


async def on_driver_thread(conn: AsyncConnection, fn: Callable[..., T], *args: Any) -> T:
    """``fn(sqlite3_connection, *args)`` on the aiosqlite thread of ``conn``, in one round trip.

    Every statement awaited through aiosqlite is a round trip to its thread (~75-130 µs with
    the event loop busy) and SQLAlchemy makes several per statement (cursor, execute, close):
    a hot path that runs whole on the thread pays one. ``fn`` must not touch the event loop.
    aiosqlite has no public way to queue a function: ``_execute`` (what its own methods use)
    and ``_conn`` are private, hence the pin below 0.23 and a test that counts the trips.
    """
    driver = (await conn.get_raw_connection()).driver_connection
    return await driver._execute(lambda: fn(driver._conn, *args))  # type: ignore[union-attr]


def _immediate(db: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T], abandoned: threading.Event) -> T:
    """``fn(db)`` inside ``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back if anything raises, or
    if the caller was cancelled meanwhile (nobody would learn that it was written)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        result = fn(db)
        if abandoned.is_set():
            db.rollback()
        else:
            db.commit()
    except BaseException:
        if db.in_transaction:
            db.rollback()
        raise
    return result


class WalCheckpointer:
    """Checkpoints a SQLite file's WAL from a thread of its own, so that commits don't have to.

    By default the commit that takes the WAL past 1,000 pages (~4 MB) also copies them into
    the database file and syncs it before it returns: ~10 ms, a quarter of the commits of a
    bulk ingest of 1 KB records and ~80 % of their time. Writers of bulk data report what
    they wrote (:meth:`wrote`) and when it committed (:meth:`committed`); every
    :data:`_CHECKPOINT_BYTES` this thread runs a PASSIVE checkpoint on its own connection,
    which waits for no reader or writer, while SQLite releases the GIL: on another core, while
    the writers go on. The store's connections still checkpoint at
    :data:`_AUTOCHECKPOINT_PAGES` if this thread falls behind.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._written = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def wrote(self, nbytes: int) -> None:
        """Count ``nbytes`` written to the WAL by a transaction not yet committed (from any thread)."""
        with self._lock:
            self._written += nbytes

    def committed(self) -> None:
        """A write transaction committed: wake the checkpoint when enough has been written since
        the last one. Only after the commit: a checkpoint that ran before it would not see its
        frames, and with no write after it they would stay in the WAL."""
        with self._lock:
            if self._written < _CHECKPOINT_BYTES or self._closed:
                return
            self._written = 0
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="splice-wal-checkpoint", daemon=True)
                self._thread.start()
        self._wake.set()

    def close(self) -> threading.Thread | None:
        """Tell the thread to stop; returns it, to join (it may be in a checkpoint)."""
        with self._lock:
            self._closed, thread = True, self._thread
        self._wake.set()
        return thread

    def _run(self) -> None:
        # A failed checkpoint is left to the next one, or to the commits' own (the backstop).
        with contextlib.suppress(sqlite3.Error), contextlib.closing(self._connect()) as db:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._closed:
                    return
                with contextlib.suppress(sqlite3.Error):
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)


class Database:
    """An engine plus the two connection kinds described in the module docstring."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._checkpointer: WalCheckpointer | None = None
        self._write_lock: asyncio.Lock | None = None
        if self.dialect == "sqlite":
            self._reader = engine.execution_options(splice_read=True)
            if _is_file_db(engine.url):
                self._checkpointer = WalCheckpointer(str(Path(engine.url.database or "").expanduser()))
        else:
            self._reader = engine.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self._reader.connect() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        async with self._one_writer(), self.engine.begin() as conn:
            yield conn

    def _one_writer(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """SQLite: write transactions of this process take turns in the event loop.

        SQLite admits one writer anyway; without this, concurrent writers of one process wait
        in SQLite's busy handler, which sleeps with back-off instead of waking when the lock
        frees (seconds of tail latency with 64 concurrent webhooks). PostgreSQL: no limit.
        """
        if self.dialect != "sqlite":
            return contextlib.nullcontext()
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        return self._write_lock

    async def sqlite_immediate(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """SQLite: ``fn(connection)`` as one write transaction (``BEGIN IMMEDIATE``, as with
        :meth:`write`), begun, run and committed in one round trip to the driver's thread."""
        abandoned = threading.Event()
        async with self._one_writer(), self.engine.connect() as conn:
            try:
                result = await on_driver_thread(conn, _immediate, fn, abandoned)
            except asyncio.CancelledError:
                abandoned.set()
                raise
        if self._checkpointer is not None:
            self._checkpointer.committed()
        return result

    async def sqlite_call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """SQLite: ``fn(connection)`` outside any transaction (as with :meth:`read`), in one
        round trip to the driver's thread."""
        async with self._reader.connect() as conn:
            return await on_driver_thread(conn, fn)

    def wal_written(self, nbytes: int) -> None:
        """SQLite: about ``nbytes`` of bulk data went to the WAL in a transaction of
        :meth:`sqlite_immediate`, which wakes the checkpoint once it commits (see
        :class:`WalCheckpointer`); from any thread."""
        if self._checkpointer is not None:
            self._checkpointer.wrote(nbytes)

    def insert(self, table: sa.Table) -> Any:
        """A dialect-specific ``INSERT`` that offers ``on_conflict_do_update``."""
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    async def dispose(self) -> None:
        thread = None if self._checkpointer is None else self._checkpointer.close()
        if thread is not None:
            await asyncio.to_thread(thread.join)
        await self.engine.dispose()


async def connect(url: str) -> Database:
    """Open and migrate the database at ``url`` (see :func:`splice.store.open_store`)."""
    parsed = parse_url(url)
    db = Database(create_engine(parsed))
    try:
        revision = await _current_revision(db)
        if revision != HEAD_REVISION:
            await _upgrade(db)
    except sa.exc.DBAPIError as exc:
        await db.dispose()
        raise SpliceError(
            f"cannot migrate database {redact_url(parsed)}: {_one_line(exc, parsed)}",
            code="MIGRATION_FAILED",
            hint="the database user needs permission to create tables",
        ) from None
    except BaseException:
        await db.dispose()
        raise
    return db


async def _current_revision(db: Database) -> str | None:
    """The stored revision, read with one cheap query (``None`` on a fresh database)."""
    conn = await _checked_connect(db)
    try:
        result = await conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
        return result.scalar()
    except (sa.exc.ProgrammingError, sa.exc.OperationalError):
        return None
    finally:
        await conn.close()


async def _checked_connect(db: Database) -> AsyncConnection:
    url = db.engine.url
    try:
        return await db._reader.connect()
    except (OSError, TimeoutError, sa.exc.DBAPIError) as exc:
        kind = "PostgreSQL" if db.dialect == "postgresql" else "SQLite"
        reason = _one_line(exc, url)
        raise Unavailable(
            f"cannot open {kind} database {redact_url(url)}: {reason}",
            code="DATABASE_UNAVAILABLE",
            hint="check that the database is running and the URL is right",
        ) from None


def _one_line(exc: BaseException, url: URL) -> str:
    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig
    text = " ".join(str(exc).split()) or type(exc).__name__
    if url.password:
        text = text.replace(str(url.password), "***")
    return text


async def _upgrade(db: Database) -> None:
    """Run alembic to head, serialised so two processes opening at once cannot collide.

    SQLite: the whole upgrade runs inside ``BEGIN IMMEDIATE`` (SQLite has transactional
    DDL once the sqlite3 module stops managing transactions). PostgreSQL: inside a
    transaction holding an advisory lock. Either way the second process waits, then finds
    the schema at head and alembic does nothing.
    """
    async with db.write() as conn:
        if db.dialect == "postgresql":
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        await conn.run_sync(_run_alembic)


def _run_alembic(connection: sa.Connection) -> None:
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    config = Config()
    # ConfigParser interpolates "%", so a path holding one must be escaped.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    try:
        command.upgrade(config, "head")
    except CommandError as exc:
        raise SpliceError(
            f"cannot migrate the database: {exc}",
            code="MIGRATION_FAILED",
            hint="is this database used by a newer version of splice?",
        ) from None
