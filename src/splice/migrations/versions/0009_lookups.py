"""Lookup caches: string keys and values by cache, compared by code point on both dialects.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10

Written out in full (not imported from ``splice.store._schema``) so it keeps describing this
revision after the live schema moves on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = sa.String(512).with_variant(sa.String(512, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "lookup_entries",
        sa.Column("cache_id", sa.String(255), nullable=False),
        sa.Column("key", _KEY, nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cache_id", "key", name="pk_lookup_entries"),
    )


def downgrade() -> None:
    op.drop_table("lookup_entries")
