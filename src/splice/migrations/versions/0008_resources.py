"""Platform resources created over the API (exports, imports, …) and records runs could not process.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

Written out in full (not imported from ``splice.store._schema``) so it keeps describing this
revision after the live schema moves on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.Text().with_variant(postgresql.JSONB(), "postgresql")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("integration", sa.String(128), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=True),
        sa.Column("document", _JSON, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("type", "id", name="pk_resources"),
    )
    op.create_index("ix_resources_type_external_id", "resources", ["type", "external_id"])
    op.create_table(
        "run_errors",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("error", _JSON, nullable=False),
        sa.Column("retry_data", _JSON, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("retried_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_run_errors_run_id_runs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_run_errors"),
    )
    op.create_index("ix_run_errors_run_id_created_at", "run_errors", ["run_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_run_errors_run_id_created_at", table_name="run_errors")
    op.drop_table("run_errors")
    op.drop_index("ix_resources_type_external_id", table_name="resources")
    op.drop_table("resources")
