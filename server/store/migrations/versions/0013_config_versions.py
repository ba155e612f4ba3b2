"""Live hall configuration (issue 16): config versions.

Revision ID: 0013_config_versions
Revises: 0012_console
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_config_versions"
down_revision = "0012_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create config_versions: one row per stored version of the hall configuration (server/config_live/)."""
    op.create_table(
        "config_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("restored_from", sa.Integer),
        sa.Column("config", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Drop config_versions."""
    op.drop_table("config_versions")
