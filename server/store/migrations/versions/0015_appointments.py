"""Appointments (issue 17): bookings (appointments) and remote tickets (remote_tickets).

Revision ID: 0015_appointments
Revises: 0014_notices
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_appointments"
down_revision = "0014_notices"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create appointments and remote_tickets (keyed hashes and masked forms only)."""
    op.create_table(
        "appointments",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("slot_at", sa.BigInteger, nullable=False),
        sa.Column("slot_minutes", sa.SmallInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(128), nullable=False),
        sa.Column("masked_id", sa.String(32), nullable=False),
        sa.Column("masked_name", sa.String(64), nullable=False),
        sa.Column("phone_hash", sa.String(128)),
        sa.Column("masked_phone", sa.String(16)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("ticket_id", sa.BigInteger),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_appointments_slot", "appointments", ["service", "day", "slot_at", "state"])
    op.create_index("ix_appointments_person", "appointments", ["key_hash", "state"])
    op.create_table(
        "remote_tickets",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("business_day", sa.String(10), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("phone_hash", sa.String(128), nullable=False),
        sa.Column("masked_phone", sa.String(16), nullable=False),
        sa.Column("address_hash", sa.String(128), nullable=False),
        sa.Column("taken_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("ticket_id", sa.BigInteger),
    )
    op.create_index("ix_remote_tickets_phone", "remote_tickets", ["phone_hash", "business_day"])
    op.create_index("ix_remote_tickets_address", "remote_tickets", ["address_hash", "business_day"])
    op.create_index("ix_remote_tickets_state", "remote_tickets", ["state", "expires_at"])


def downgrade() -> None:
    """Drop both tables."""
    for name in ("ix_remote_tickets_state", "ix_remote_tickets_address", "ix_remote_tickets_phone"):
        op.drop_index(name, table_name="remote_tickets")
    op.drop_table("remote_tickets")
    op.drop_index("ix_appointments_person", table_name="appointments")
    op.drop_index("ix_appointments_slot", table_name="appointments")
    op.drop_table("appointments")
