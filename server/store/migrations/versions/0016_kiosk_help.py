"""Citizens first (issue 18): kiosk help calls, reconciliation.

Revision ID: 0016_kiosk_help
Revises: 0015_appointments
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0016_kiosk_help"
down_revision = "0015_appointments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: this step is reserved so the revision chain is fixed."""


def downgrade() -> None:
    """Nothing to undo."""
