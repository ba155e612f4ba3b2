"""Staff directory (issue 16): staff, photos, window permissions.

Revision ID: 0011_staff
Revises: 0010_alerts_dedup
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0011_staff"
down_revision = "0010_alerts_dedup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: this step is reserved so the revision chain is fixed."""


def downgrade() -> None:
    """Nothing to undo."""
