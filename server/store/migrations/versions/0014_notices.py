"""Notices and SMS (issue 17): notice_contacts (the full mobile number, erased when done) and the notices outbox.

Revision ID: 0014_notices
Revises: 0013_config_versions
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_notices"
down_revision = "0013_config_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create notice_contacts and notices (server/notices/)."""
    op.create_table(
        "notice_contacts",
        sa.Column("key", sa.String(96), primary_key=True),
        sa.Column("phone", sa.String(96)),
        sa.Column("masked", sa.String(16), nullable=False),
        sa.Column("phone_hash", sa.String(128), nullable=False),
        sa.Column("ticket_id", sa.BigInteger),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("erase_at", sa.BigInteger),
        sa.Column("erased_at", sa.BigInteger),
    )
    op.create_index("ix_notice_contacts_ticket", "notice_contacts", ["ticket_id"])
    op.create_index("ix_notice_contacts_erase", "notice_contacts", ["erase_at"])
    op.create_table(
        "notices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("dedup", sa.String(128), unique=True),
        sa.Column("key", sa.String(96), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("masked", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claim_until", sa.BigInteger),
        sa.Column("last_error", sa.String(400)),
        sa.Column("refs", sa.String(64)),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("sent_at", sa.BigInteger),
        sa.Column("delivered_at", sa.BigInteger),
    )
    op.create_index("ix_notices_due", "notices", ["state", "next_attempt_at"])
    op.create_index("ix_notices_key", "notices", ["key"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index("ix_notices_key", "notices")
    op.drop_index("ix_notices_due", "notices")
    op.drop_table("notices")
    op.drop_index("ix_notice_contacts_erase", "notice_contacts")
    op.drop_index("ix_notice_contacts_ticket", "notice_contacts")
    op.drop_table("notice_contacts")
