"""好差评 upload: 办件 bindings (case_links) and the evaluation_exports outbox (server/haochaping/).

Revision ID: 0009_exports
Revises: 0008_ratings
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_exports"
down_revision = "0008_ratings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create case_links and evaluation_exports (one row per rating, unique idempotency key)."""
    op.create_table(
        "case_links",
        sa.Column("ticket_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("project_no", sa.String(64), nullable=False),
        sa.Column("item_code", sa.String(64), nullable=False),
        sa.Column("window", sa.Integer, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "evaluation_exports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(96), nullable=False, unique=True),
        sa.Column("ticket_id", sa.BigInteger, nullable=False, unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claim_until", sa.BigInteger),
        sa.Column("last_error", sa.String(400)),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("sent_at", sa.BigInteger),
    )
    op.create_index("ix_evaluation_exports_due", "evaluation_exports", ["state", "next_attempt_at"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index("ix_evaluation_exports_due", "evaluation_exports")
    op.drop_table("evaluation_exports")
    op.drop_table("case_links")
