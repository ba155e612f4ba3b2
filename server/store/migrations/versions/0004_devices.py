"""Devices: which device host holds which device (claims, heartbeats) and each device's health.

Revision ID: 0004_devices
Revises: 0003_kiosk
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_devices"
down_revision = "0003_kiosk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create device_claims and device_status."""
    op.create_table(
        "device_claims",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(128), nullable=False),
        sa.Column("host_label", sa.String(200), nullable=False),
        sa.Column("heartbeat_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "device_status",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("health", sa.Text, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("device_status")
    op.drop_table("device_claims")
