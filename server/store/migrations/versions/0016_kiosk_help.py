"""Citizens first (issue 18): kiosk help calls, reconciliation.

Revision ID: 0016_kiosk_help
Revises: 0015_appointments
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_kiosk_help"
down_revision = "0015_appointments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create kiosk_requests: the idempotency key of each kiosk tap and the ticket it gave."""
    op.create_table(
        "kiosk_requests",
        sa.Column("kiosk", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("ticket_id", sa.BigInteger),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_kiosk_requests_created", "kiosk_requests", ["created_at"])


def downgrade() -> None:
    """Drop kiosk_requests."""
    op.drop_index("ix_kiosk_requests_created", "kiosk_requests")
    op.drop_table("kiosk_requests")
