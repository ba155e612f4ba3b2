"""Windows: the stored rating deadline per window, and an index for the call-back list.

Revision ID: 0005_windows
Revises: 0004_devices
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_windows"
down_revision = "0004_devices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create rating_due; index tickets by (window, state) for the 过号/挂起 call-back list."""
    op.create_table(
        "rating_due",
        sa.Column("window", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("ticket_id", sa.BigInteger, nullable=False),
        sa.Column("until", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_tickets_window_state", "tickets", ["window", "state"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_tickets_window_state", table_name="tickets")
    op.drop_table("rating_due")
