"""Live hall configuration (issue 16): config versions.

Revision ID: 0013_config_versions
Revises: 0012_console
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0013_config_versions"
down_revision = "0012_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: this step is reserved so the revision chain is fixed."""


def downgrade() -> None:
    """Nothing to undo."""
