"""Alembic environment for splice's store.

splice runs this itself at every :func:`splice.store.open_store` that finds the schema
behind: it passes an open connection (already inside a locked transaction) in
``config.attributes["connection"]`` and alembic only adds the DDL. Developers can also drive
it by hand, e.g. to autogenerate the next revision::

    SPLICE_DATABASE_URL=sqlite:///.splice/dev.db \\
        alembic -c src/splice/migrations/alembic.ini revision --autogenerate -m "add x"

``render_as_batch`` is on for SQLite, whose ALTER TABLE cannot change most things in place.
"""

from __future__ import annotations

import asyncio
import os

import sqlalchemy as sa
from alembic import context

from splice.store._schema import VERSION_TABLE, metadata

config = context.config


def _configure(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _run(connection: sa.Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = os.environ.get("SPLICE_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set SPLICE_DATABASE_URL to the database to migrate")
    return url


async def _run_standalone() -> None:
    from splice.store._engine import create_engine, parse_url

    engine = create_engine(parse_url(_url()))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def _run_offline() -> None:
    from splice.store._engine import parse_url

    url = parse_url(_url())
    context.configure(
        url=url,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=url.drivername.startswith("sqlite"),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
elif (shared := config.attributes.get("connection")) is not None:
    _run(shared)
else:
    asyncio.run(_run_standalone())
