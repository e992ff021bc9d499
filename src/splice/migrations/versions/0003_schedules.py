"""Sync schedules per connection, and the job and progress of a run.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Written out in full (not imported from ``splice.store._schema``) so it keeps describing this
revision after the live schema moves on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_schedules",
        sa.Column("integration", sa.String(128), nullable=False),
        sa.Column("connection_id", sa.String(128), nullable=False),
        sa.Column("sync", sa.String(255), nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=True),
        sa.Column("cron", sa.String(255), nullable=True),
        sa.Column("last_scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("integration", "connection_id", "sync", name="pk_sync_schedules"),
    )
    # Plain ADD COLUMN, not a batch operation: on SQLite a batch would copy ``runs`` into a new
    # table, and dropping the old one would cascade-delete every run's logs.
    op.add_column("runs", sa.Column("job_id", sa.String(64), nullable=True))
    op.add_column(
        "runs",
        sa.Column("progress", sa.Text().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
    )
    op.create_index("ix_runs_job_id", "runs", ["job_id"])


def downgrade() -> None:
    op.drop_index("ix_runs_job_id", table_name="runs")
    op.drop_column("runs", "progress")
    op.drop_column("runs", "job_id")
    op.drop_table("sync_schedules")
