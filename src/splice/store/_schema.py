"""The store's tables as SQLAlchemy Core objects, and the column types they share.

The migrations in ``splice/migrations/versions`` must build exactly this schema;
``tests/store/test_engine.py`` compares the two with alembic's autogenerate on both dialects,
so a table changed here without a migration fails the suite.

Why the custom pieces:

* :class:`UTCDateTime` — SQLite has no time zones and hands back naive datetimes; every
  timestamp is stored as UTC and comes back tz-aware on both dialects.
* :func:`json_type` — JSON text in a TEXT column on SQLite (see :class:`JSONText`),
  ``JSONB`` on PostgreSQL (see :class:`NulSafeJSONB`: JSONB cannot hold ``\u0000``).
* :func:`text_type` — TEXT for free text a script writes (log messages); on PostgreSQL it
  escapes NUL characters too (:class:`NulSafeText`), which its text types cannot hold.
* :func:`dumps_json` — the engines' JSON serializer (orjson), strict: datetimes, dataclasses,
  sets and non-string keys are refused instead of silently changed, so a value reads back as
  it was written; :func:`check_json` also refuses NaN and ±Infinity, which orjson would
  write as ``null``.
* ``records`` keeps its timestamps as integer microseconds since the epoch (``*_us``), not
  :class:`UTCDateTime`: SQLite stores a datetime as 26 bytes of text, and with ~1 KB records
  those bytes drop a 4 KiB page from four rows to three (measured: 60k -> 80k new rows/s when
  changed to integers). It also lets the hot path write them without SQLAlchemy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from splice import _json
from splice.errors import InvalidInput

#: alembic's bookkeeping table; named for splice so it cannot clash with an operator's own
#: alembic history when the PostgreSQL database is shared.
VERSION_TABLE = "splice_alembic_version"
#: the newest migration; checked at every open without loading the migration scripts.
HEAD_REVISION = "0011"

_JSON_OPTIONS = _json.OPTIONS
#: stands in for NUL in what PostgreSQL stores (a private-use character, so rarely escaped itself)
_ESCAPE = "\ue000"
_ESCAPED = re.compile(f"{_ESCAPE}([0{_ESCAPE}])")
_NEEDS_ESCAPE = (b"\\u0000", _ESCAPE.encode())


def dumps_json(value: Any) -> str:
    """Serialise strictly (raises ``TypeError`` for anything JSON cannot represent)."""
    return orjson.dumps(value, option=_JSON_OPTIONS).decode()


def check_json(value: Any, what: str, field: str = "value") -> bytes:
    """``value``'s JSON, or :class:`InvalidInput` naming ``what`` and the ``field`` path when it is
    not plain JSON or holds NaN or ±Infinity."""
    return _json.encode(value, what, field)


def check_text(value: Any, field: str) -> None:
    """Refuse an id, name or key holding a NUL character, on every backend alike.

    PostgreSQL cannot store or even compare text holding NUL, and no name needs one.
    """
    if isinstance(value, str) and "\x00" in value:
        raise InvalidInput(
            f"{field} must not contain NUL characters: {value[:200]!r}",
            details={"field": field, "value": value[:200]},
        )


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored as UTC and always returned tz-aware (naive input is taken as UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONText(sa.types.TypeDecorator[Any]):
    """JSON kept in a TEXT column, for SQLite.

    SQLite gives a column declared ``JSON`` NUMERIC affinity, which turns the text ``3``
    into the integer 3 and ``1.0`` into 1; TEXT affinity keeps the JSON text as written.
    """

    impl = sa.Text
    cache_ok = True

    def __init__(self, *, none_as_null: bool = False) -> None:
        super().__init__()
        self.none_as_null = none_as_null

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        if value is None and self.none_as_null:
            return None
        return dumps_json(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        return None if value is None else orjson.loads(value)


def escape_nul(text: str) -> str:
    """``text`` without NUL, reversibly (:func:`unescape_nul`): NUL and the escape character
    itself become the escape character plus one more."""
    return text.replace(_ESCAPE, _ESCAPE + _ESCAPE).replace("\x00", _ESCAPE + "0")


def unescape_nul(text: str) -> str:
    return _ESCAPED.sub(lambda m: "\x00" if m.group(1) == "0" else m.group(1), text)


def _map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    """``value`` with ``fn`` applied to every string in it, keys included."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {fn(key): _map_strings(child, fn) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [_map_strings(child, fn) for child in value]
    return value


class NulSafeJSONB(sa.types.TypeDecorator[Any]):
    """JSONB holding strings with NUL characters, which PostgreSQL's JSONB refuses.

    Every string (keys too) is stored through :func:`escape_nul` and read back through
    :func:`unescape_nul`, so a value reads back exactly as written. Only values whose JSON
    shows a NUL or the escape character are rewritten; nothing in splice queries inside
    these columns, so the escaped form never meets SQL.
    """

    impl = postgresql.JSONB
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if isinstance(value, str | dict | list) and _shows(value, _NEEDS_ESCAPE):
            return _map_strings(value, escape_nul)
        return value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        if isinstance(value, str | dict | list) and _shows(value, _NEEDS_ESCAPE[1:]):
            return _map_strings(value, unescape_nul)
        return value


def _shows(value: Any, needles: tuple[bytes, ...]) -> bool:
    """Whether ``value``'s JSON contains one of ``needles`` (orjson is far faster than a walk)."""
    encoded = orjson.dumps(value, option=_JSON_OPTIONS)
    return any(needle in encoded for needle in needles)


class NulSafeText(sa.types.TypeDecorator[str]):
    """TEXT that may hold NUL characters on PostgreSQL (see :func:`escape_nul`)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        if value is not None and ("\x00" in value or _ESCAPE in value):
            return escape_nul(value)
        return value

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> str | None:
        return unescape_nul(value) if value is not None and _ESCAPE in value else value


def json_type(*, none_as_null: bool = False) -> sa.types.TypeEngine[Any]:
    """TEXT holding JSON on SQLite, JSONB on PostgreSQL; ``none_as_null`` stores ``None`` as
    SQL NULL instead of JSON ``null``. Strings holding NUL read back as written on both."""
    return JSONText(none_as_null=none_as_null).with_variant(NulSafeJSONB(none_as_null=none_as_null), "postgresql")


def text_type() -> sa.types.TypeEngine[str]:
    """TEXT on both; on PostgreSQL NUL characters are escaped (they read back as written)."""
    return sa.Text().with_variant(NulSafeText(), "postgresql")


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

connections = sa.Table(
    "connections",
    metadata,
    sa.Column("integration", sa.String(128), primary_key=True),
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("credentials", sa.LargeBinary, nullable=False),
    sa.Column("config", json_type(), nullable=False),
    sa.Column("metadata", json_type(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_error", json_type(none_as_null=True), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

env_vars = sa.Table(
    "env_vars",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("value", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("integration", sa.String(128), nullable=False),
    sa.Column("script", sa.String(255), nullable=False),
    sa.Column("connection_id", sa.String(128), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("input", json_type(none_as_null=True), nullable=True),
    sa.Column("output", json_type(none_as_null=True), nullable=True),
    sa.Column("error", json_type(none_as_null=True), nullable=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("parent_id", sa.String(64), nullable=True),
    sa.Column("test_mode", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("duration_ms", sa.Float, nullable=True),
    # the background job executing the run, so runs left "running" by a dead worker can be
    # found and failed when its job is recovered
    sa.Column("job_id", sa.String(64), nullable=True),
    sa.Column("progress", json_type(none_as_null=True), nullable=True),
    # the process that started the run (a worker's id, or host:pid), so a restarted worker can
    # fail the runs it left ``running`` when it died (``RunStore.abandon``)
    sa.Column("owner", sa.String(128), nullable=True),
    #: a flow's step runs: which step (a stable key: the name, "Each order[2]/Check order" in a loop)
    sa.Column("step", sa.String(512), nullable=True),
    #: a flow run: the version (hash) of the flow document it ran
    sa.Column("version", sa.String(32), nullable=True),
    #: the deployed project version (``project_versions.number``) the run's code came from; None: files on disk
    sa.Column("project_version", sa.Integer, nullable=True),
    sa.Index(None, "integration", "script", "created_at"),
    sa.Index(None, "connection_id", "created_at"),
    sa.Index(None, "status"),
    sa.Index(None, "job_id"),
    sa.Index(None, "owner", "status"),
    sa.Index(None, "parent_id"),
)

#: flows created over the REST API or ``ctx.engine`` (code-declared ones live in the project)
flows = sa.Table(
    "flows",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("integration", sa.String(128), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("document", json_type(), nullable=False),
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

#: every version of a flow a run used, so a retry can run the version its run started with
flow_versions = sa.Table(
    "flow_versions",
    metadata,
    sa.Column("flow_id", sa.String(255), primary_key=True),
    sa.Column("version", sa.String(32), primary_key=True),
    sa.Column("document", json_type(), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

#: exports, imports and other platform resources created over the REST API or ``ctx.engine``
#: (code-declared ones live in the project), one document per (type, id)
resources = sa.Table(
    "resources",
    metadata,
    sa.Column("type", sa.String(32), primary_key=True),
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("integration", sa.String(128), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=True),
    sa.Column("document", json_type(), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(None, "type", "external_id"),
)

#: records an export or import run could not process, each with what retrying it needs
run_errors = sa.Table(
    "run_errors",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("stage", sa.String(32), nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Column("error", json_type(), nullable=False),
    #: what the failing stage received: retrying the record re-enters that stage with it
    sa.Column("retry_data", json_type(), nullable=True),
    #: open, retried (a retry succeeded) or failed_again (a retry's own error row says why)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("retried_at", UTCDateTime, nullable=True),
    sa.Index(None, "run_id", "created_at"),
)

run_logs = sa.Table(
    "run_logs",
    metadata,
    # INTEGER (not BIGINT) on SQLite so the column is the rowid; AUTOINCREMENT so a sequence
    # number is never reused, which ``splice logs --follow`` (``after_seq``) relies on.
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("ts", UTCDateTime, nullable=False),
    sa.Column("level", sa.String(8), nullable=False),
    sa.Column("message", text_type(), nullable=False),
    sa.Column("fields", json_type(), nullable=False),
    sa.Column("integration", sa.String(128), nullable=False),
    sa.Column("script", sa.String(255), nullable=False),
    sa.Column("connection_id", sa.String(128), nullable=True),
    sa.Index(None, "run_id", "seq"),
    sa.Index(None, "integration", "script", "seq"),
    sa.Index(None, "connection_id", "seq"),
    sqlite_autoincrement=True,
)

state = sa.Table(
    "state",
    metadata,
    sa.Column("scope", sa.String(32), primary_key=True),
    sa.Column("scope_id", sa.String(512), primary_key=True),
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("value", json_type(), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

#: lookup caches' entries (Celigo's): string keys and values by cache (``acme.skus``). Keys compare
#: by code point on both dialects ("C" collation on PostgreSQL, SQLite's BINARY), so keyset pages
#: come back in one order everywhere; ``size`` is the UTF-8 bytes of key and value, summed for the cap.
lookup_entries = sa.Table(
    "lookup_entries",
    metadata,
    sa.Column("cache_id", sa.String(255), primary_key=True),
    sa.Column("key", sa.String(512).with_variant(sa.String(512, collation="C"), "postgresql"), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

locks = sa.Table(
    "locks",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

# A stream is (integration, connection_id, model). Its row is the per-stream cursor counter:
# every writer of the stream locks it first (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the
# write transaction's lock), so cursors are handed out in commit order. ``live`` and
# ``deleted`` are kept up to date by every write so counting is one lookup. The id is never
# reused (AUTOINCREMENT on SQLite), so a cursor issued before a reset is recognised as stale.
record_streams = sa.Table(
    "record_streams",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("integration", sa.String(128), nullable=False),
    sa.Column("connection_id", sa.String(128), nullable=False),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("last_cursor", sa.BigInteger, nullable=False),
    sa.Column("live", sa.BigInteger, nullable=False),
    sa.Column("deleted", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("integration", "connection_id", "model"),
    sqlite_autoincrement=True,
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("stream_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("id", sa.String(512), primary_key=True),
    sa.Column("cursor", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.LargeBinary, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("first_seen_us", sa.BigInteger, nullable=False),
    sa.Column("last_modified_us", sa.BigInteger, nullable=False),
    sa.Column("last_action", sa.String(8), nullable=False),
    sa.Column("deleted_us", sa.BigInteger, nullable=True),
    sa.Column("last_seen_run", sa.String(64), nullable=True),
    sa.Index(None, "stream_id", "cursor", unique=True),
)

checkpoints = sa.Table(
    "checkpoints",
    metadata,
    sa.Column("integration", sa.String(128), primary_key=True),
    sa.Column("connection_id", sa.String(128), primary_key=True),
    sa.Column("sync", sa.String(255), primary_key=True),
    sa.Column("value", json_type(), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# One row per (integration, connection, sync) that was ever paused, overridden or scheduled.
# ``every_seconds`` / ``cron`` override the sync's declared schedule for this connection (both
# NULL: use the declared one); ``next_run_at`` NULL means "recompute from the schedule".
sync_schedules = sa.Table(
    "sync_schedules",
    metadata,
    sa.Column("integration", sa.String(128), primary_key=True),
    sa.Column("connection_id", sa.String(128), primary_key=True),
    sa.Column("sync", sa.String(255), primary_key=True),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("every_seconds", sa.Integer, nullable=True),
    sa.Column("cron", sa.String(255), nullable=True),
    sa.Column("last_scheduled_at", UTCDateTime, nullable=True),
    sa.Column("next_run_at", UTCDateTime, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# REST API access tokens. Only a SHA-256 of the secret is kept (see ``_tokens.py``); ``prefix``
# is the secret's first characters, shown in lists so a user can tell tokens apart.
access_tokens = sa.Table(
    "access_tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("secret_hash", sa.LargeBinary, nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("scopes", json_type(), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Index(None, "secret_hash", unique=True),
)

# OAuth connect flows between the redirect to the provider and its callback; ``data`` holds the
# PKCE verifier, encrypted with the SecretBox like credentials.
oauth_states = sa.Table(
    "oauth_states",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("integration", sa.String(128), nullable=False),
    sa.Column("connection_id", sa.String(128), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "expires_at"),
)

# Timestamped webhook deliveries already accepted, so a replay is refused by every server sharing
# the database. ``key`` is a SHA-256 of the trigger and the signature's MAC (never the MAC);
# a row is useless once ``expires_at`` passes: the timestamp check refuses the replay by then.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("key", sa.LargeBinary, primary_key=True),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Index(None, "expires_at"),
)

# Worker processes (``splice serve``, ``splice worker``) and their heartbeats. A worker whose
# ``heartbeat_at`` is older than the timeout, or that stopped, is declared ``lost`` by a live one
# (``recovered_by``), which fails its runs (WORKER_LOST) and has the engine run its jobs again.
workers = sa.Table(
    "workers",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("heartbeat_at", UTCDateTime, nullable=False),
    sa.Column("lost_at", UTCDateTime, nullable=True),
    sa.Column("recovered_by", sa.String(255), nullable=True),
    sa.Index(None, "status", "heartbeat_at"),
)

# Deployed versions of the project (``splice deploy``): the package and splice.toml as a
# deterministic tar.gz, numbered from 1. The newest number is the version new runs use; a
# rollback appends a copy of an older version's archive (``rollback_of``), so that stays the
# only rule and the history is never rewritten.
project_versions = sa.Table(
    "project_versions",
    metadata,
    sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("archive", sa.LargeBinary, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=True),
    sa.Column("message", sa.String(1024), nullable=True),
    sa.Column("rollback_of", sa.Integer, nullable=True),
)
