"""Supervision: at most one unresolved alert per (type, subject), enforced by a partial unique index.

Every web worker follows the outbox and runs the alert rules, so two workers may report the same
condition at the same instant; the index makes the second insert fail and ``server/alerts/store.py``
then merges into the first row. Older duplicates (before the index) are resolved, newest kept.

Revision ID: 0010_alerts_dedup
Revises: 0009_exports
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_alerts_dedup"
down_revision = "0009_exports"
branch_labels = None
depends_on = None

OPEN = sa.text("resolved_at IS NULL")


def upgrade() -> None:
    """Resolve duplicate open alerts (keeping the newest of each), then add the unique index."""
    op.execute("UPDATE alerts SET resolved_at = last_seen, resolved_by = 'system' WHERE resolved_at IS NULL "
               "AND id NOT IN (SELECT keep FROM (SELECT MAX(id) AS keep FROM alerts WHERE resolved_at IS NULL "
               "GROUP BY type, subject) AS newest)")
    op.create_index("ux_alerts_open", "alerts", ["type", "subject"], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ux_alerts_open", table_name="alerts")
