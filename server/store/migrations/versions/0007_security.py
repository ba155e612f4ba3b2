"""Security hardening (issue 12): shared issue-rate counters, and indexes that keep sign-in checks cheap.

Revision ID: 0007_security
Revises: 0006_alerts
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_security"
down_revision = "0006_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create rate_hits; index login_attempts by address and by time (spraying limit, pruning)."""
    op.create_table(
        "rate_hits",
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("bucket", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_rate_hits_expires", "rate_hits", ["expires_at"])
    op.create_index("ix_login_attempts_ip", "login_attempts", ["ip", "at"])
    op.create_index("ix_login_attempts_at", "login_attempts", ["at"])


def downgrade() -> None:
    """Drop what upgrade made."""
    op.drop_index("ix_login_attempts_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_ip", table_name="login_attempts")
    op.drop_index("ix_rate_hits_expires", table_name="rate_hits")
    op.drop_table("rate_hits")
