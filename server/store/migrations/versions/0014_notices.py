"""Notices and SMS (issue 17): notifier outbox, modem status.

Revision ID: 0014_notices
Revises: 0013_config_versions
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0014_notices"
down_revision = "0013_config_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: this step is reserved so the revision chain is fixed."""


def downgrade() -> None:
    """Nothing to undo."""
