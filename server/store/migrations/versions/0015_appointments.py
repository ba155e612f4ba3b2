"""Appointments (issue 17): slots, bookings, remote tickets.

Revision ID: 0015_appointments
Revises: 0014_notices
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0015_appointments"
down_revision = "0014_notices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: this step is reserved so the revision chain is fixed."""


def downgrade() -> None:
    """Nothing to undo."""
