"""Flows: documents created over the API, every version a run used, and runs' steps and versions.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Written out in full (not imported from ``splice.store._schema``) so it keeps describing this
revision after the live schema moves on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.Text().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "flows",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("integration", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("document", _JSON, nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_flows"),
    )
    op.create_table(
        "flow_versions",
        sa.Column("flow_id", sa.String(255), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("document", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("flow_id", "version", name="pk_flow_versions"),
    )
    # Plain ADD COLUMN (see 0003): a batch copy of ``runs`` would cascade-delete its logs on SQLite.
    op.add_column("runs", sa.Column("step", sa.String(512), nullable=True))
    op.add_column("runs", sa.Column("version", sa.String(32), nullable=True))
    op.create_index("ix_runs_parent_id", "runs", ["parent_id"])


def downgrade() -> None:
    op.drop_index("ix_runs_parent_id", table_name="runs")
    op.drop_column("runs", "version")
    op.drop_column("runs", "step")
    op.drop_table("flow_versions")
    op.drop_table("flows")
