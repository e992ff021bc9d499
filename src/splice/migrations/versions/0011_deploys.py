"""Deployed project versions (``splice deploy``), and the version each run's code came from.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Written out in full (not imported from ``splice.store._schema``) so it keeps describing this
revision after the live schema moves on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "project_versions",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("archive", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=True),
        sa.Column("message", sa.String(1024), nullable=True),
        sa.Column("rollback_of", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("number", name="pk_project_versions"),
    )
    # Plain ADD COLUMN (see 0003): a batch copy of ``runs`` would cascade-delete its logs on SQLite.
    op.add_column("runs", sa.Column("project_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("runs", "project_version")
    op.drop_table("project_versions")
