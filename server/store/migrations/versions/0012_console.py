"""Clerk console (issue 16): 代取号/绿色通道 reasons and grantor.

Revision ID: 0012_console
Revises: 0011_staff
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0012_console"
down_revision = "0011_staff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: this step is reserved so the revision chain is fixed."""


def downgrade() -> None:
    """Nothing to undo."""
