"""Initial schema: connections, env vars, runs and their logs, state, locks.

Revision ID: 0001
Revises:
Create Date: 2026-11-20

Written out in full (not imported from ``splice.store._schema``) so it keeps describing this
revision after the live schema moves on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    # TEXT, not JSON, on SQLite: a column declared JSON gets NUMERIC affinity there.
    return sa.Text().with_variant(postgresql.JSONB(), "postgresql")


def _ts() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("integration", sa.String(128), nullable=False),
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("credentials", sa.LargeBinary(), nullable=False),
        sa.Column("config", _json(), nullable=False),
        sa.Column("metadata", _json(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_error", _json(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("integration", "id", name="pk_connections"),
    )
    op.create_table(
        "env_vars",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_env_vars"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("integration", sa.String(128), nullable=False),
        sa.Column("script", sa.String(255), nullable=False),
        sa.Column("connection_id", sa.String(128), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("input", _json(), nullable=True),
        sa.Column("output", _json(), nullable=True),
        sa.Column("error", _json(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.String(64), nullable=True),
        sa.Column("test_mode", sa.Boolean(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("started_at", _ts(), nullable=True),
        sa.Column("finished_at", _ts(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_index("ix_runs_integration_script_created_at", "runs", ["integration", "script", "created_at"])
    op.create_index("ix_runs_connection_id_created_at", "runs", ["connection_id", "created_at"])
    op.create_index("ix_runs_status", "runs", ["status"])
    op.create_table(
        "run_logs",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("ts", _ts(), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("fields", _json(), nullable=False),
        sa.Column("integration", sa.String(128), nullable=False),
        sa.Column("script", sa.String(255), nullable=False),
        sa.Column("connection_id", sa.String(128), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_run_logs_run_id_runs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seq", name="pk_run_logs"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_run_logs_run_id_seq", "run_logs", ["run_id", "seq"])
    op.create_index("ix_run_logs_integration_script_seq", "run_logs", ["integration", "script", "seq"])
    op.create_index("ix_run_logs_connection_id_seq", "run_logs", ["connection_id", "seq"])
    op.create_table(
        "state",
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("scope_id", sa.String(512), nullable=False),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("value", _json(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "scope_id", "key", name="pk_state"),
    )
    op.create_table(
        "locks",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("expires_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_locks"),
    )


def downgrade() -> None:
    for table in ("locks", "state", "run_logs", "runs", "env_vars", "connections"):
        op.drop_table(table)
