"""Calendar and priority (issue 18).

Revision ID: 0017_calendar
Revises: 0016_kiosk_help
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0017_calendar"
down_revision = "0016_kiosk_help"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: this step is reserved so the revision chain is fixed."""


def downgrade() -> None:
    """Nothing to undo."""
