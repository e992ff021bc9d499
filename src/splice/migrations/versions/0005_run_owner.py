"""The process that owns a run, so runs a crash left ``running`` can be failed on restart.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

Written out in full (not imported from ``splice.store._schema``) so it keeps describing this
revision after the live schema moves on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (see 0003): a batch copy of ``runs`` would cascade-delete its logs on SQLite.
    op.add_column("runs", sa.Column("owner", sa.String(128), nullable=True))
    op.create_index("ix_runs_owner_status", "runs", ["owner", "status"])


def downgrade() -> None:
    op.drop_index("ix_runs_owner_status", table_name="runs")
    op.drop_column("runs", "owner")
