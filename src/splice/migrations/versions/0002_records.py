"""Records of syncs: per-stream cursor counters, encrypted records, checkpoints.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Written out in full (not imported from ``splice.store._schema``) so it keeps describing this
revision after the live schema moves on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "record_streams",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration", sa.String(128), nullable=False),
        sa.Column("connection_id", sa.String(128), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("last_cursor", sa.BigInteger(), nullable=False),
        sa.Column("live", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_record_streams"),
        sa.UniqueConstraint(
            "integration",
            "connection_id",
            "model",
            name="uq_record_streams_integration_connection_id_model",
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "records",
        sa.Column("stream_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.String(512), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("first_seen_us", sa.BigInteger(), nullable=False),
        sa.Column("last_modified_us", sa.BigInteger(), nullable=False),
        sa.Column("last_action", sa.String(8), nullable=False),
        sa.Column("deleted_us", sa.BigInteger(), nullable=True),
        sa.Column("last_seen_run", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("stream_id", "id", name="pk_records"),
    )
    op.create_index("ix_records_stream_id_cursor", "records", ["stream_id", "cursor"], unique=True)
    op.create_table(
        "checkpoints",
        sa.Column("integration", sa.String(128), nullable=False),
        sa.Column("connection_id", sa.String(128), nullable=False),
        sa.Column("sync", sa.String(255), nullable=False),
        sa.Column("value", sa.Text().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("integration", "connection_id", "sync", name="pk_checkpoints"),
    )


def downgrade() -> None:
    for table in ("checkpoints", "records", "record_streams"):
        op.drop_table(table)
