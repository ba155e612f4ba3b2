"""Supervision: the stored alert inbox (server/alerts/) and an events index for reports.

Revision ID: 0006_alerts
Revises: 0005_windows
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_alerts"
down_revision = "0005_windows"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the alerts table (an open alert per (type, subject) found by its key) and index events by type."""
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("type", sa.String(48), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("message", sa.String(400), nullable=False),
        sa.Column("evidence", sa.String(400)),
        sa.Column("first_seen", sa.BigInteger, nullable=False),
        sa.Column("last_seen", sa.BigInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("acked_by", sa.String(64)),
        sa.Column("acked_at", sa.BigInteger),
        sa.Column("resolved_at", sa.BigInteger),
        sa.Column("resolved_by", sa.String(64)),
    )
    op.create_index("ix_alerts_key", "alerts", ["type", "subject", "resolved_at"])
    # reports read window.changed events of a date range from the outbox (server/reports/query.py)
    op.create_index("ix_events_type_at", "events", ["type", "at"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_events_type_at", table_name="events")
    op.drop_index("ix_alerts_key", table_name="alerts")
    op.drop_table("alerts")
