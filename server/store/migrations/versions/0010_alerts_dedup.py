"""Supervision (issue 14): alert de-duplication across workers, report indexes.

Revision ID: 0010_alerts_dedup
Revises: 0009_exports
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0010_alerts_dedup"
down_revision = "0009_exports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: this step is reserved so the revision chain is fixed."""


def downgrade() -> None:
    """Nothing to undo."""
