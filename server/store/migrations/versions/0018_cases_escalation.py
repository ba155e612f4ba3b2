"""好差评 (issue 15): escalation of overdue 差评 cases.

Revision ID: 0018_cases_escalation
Revises: 0017_calendar
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_cases_escalation"
down_revision = "0017_calendar"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the escalation level (0 in time, 1 overdue, 2 escalated), its time and stage to rating_cases."""
    with op.batch_alter_table("rating_cases") as batch:
        batch.add_column(sa.Column("escalation_level", sa.SmallInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("escalated_at", sa.BigInteger))
        batch.add_column(sa.Column("escalated", sa.String(16)))


def downgrade() -> None:
    """Drop the escalation columns."""
    with op.batch_alter_table("rating_cases") as batch:
        batch.drop_column("escalated")
        batch.drop_column("escalated_at")
        batch.drop_column("escalation_level")
