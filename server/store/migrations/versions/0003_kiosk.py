"""Kiosk ID-card sessions and ticket print jobs (server/kiosk/).

Revision ID: 0003_kiosk
Revises: 0002_accounts_audit
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_kiosk"
down_revision = "0002_accounts_audit"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create card_sessions and print_jobs."""
    op.create_table(
        "card_sessions",
        sa.Column("kiosk", sa.String(64), primary_key=True),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("card_type", sa.String(32), nullable=False),
        sa.Column("masked_id", sa.String(32)),
        sa.Column("masked_name", sa.String(64)),
        sa.Column("key_hash", sa.String(128)),
        sa.Column("age", sa.SmallInteger),
        sa.Column("card_expired", sa.SmallInteger, nullable=False),
        sa.Column("refused", sa.String(32)),
        sa.Column("opened_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "print_jobs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.BigInteger, nullable=False),
        sa.Column("kiosk", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("fault", sa.String(64)),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_print_jobs_ticket", "print_jobs", ["ticket_id"])


def downgrade() -> None:
    """Drop the tables (development only)."""
    op.drop_table("print_jobs")
    op.drop_table("card_sessions")
