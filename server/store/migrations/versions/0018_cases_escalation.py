"""好差评 (issue 15): case escalation, phone ratings.

Revision ID: 0018_cases_escalation
Revises: 0017_calendar
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0018_cases_escalation"
down_revision = "0017_calendar"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: this step is reserved so the revision chain is fixed."""


def downgrade() -> None:
    """Nothing to undo."""
