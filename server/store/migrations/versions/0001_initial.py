"""Initial schema: tickets, transitions, counters, windows, ratings, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "tickets",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("business_day", sa.String(10), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("seq_no", sa.Integer, nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("rank", sa.SmallInteger, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("sort_at", sa.BigInteger, nullable=False),
        sa.Column("issued_at", sa.BigInteger, nullable=False),
        sa.Column("called_at", sa.BigInteger),
        sa.Column("started_at", sa.BigInteger),
        sa.Column("finished_at", sa.BigInteger),
        sa.Column("state_at", sa.BigInteger, nullable=False),
        sa.Column("window", sa.Integer),
        sa.Column("target_window", sa.Integer),
        sa.Column("recall_count", sa.Integer, nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("parent_id", sa.BigInteger),
        sa.Column("key_hash", sa.String(128)),
        sa.Column("masked_id", sa.String(32)),
        sa.Column("masked_name", sa.String(64)),
        sa.Column("rating", sa.SmallInteger),
        sa.Column("kiosk", sa.String(64)),
        sa.Column("counted", sa.SmallInteger, nullable=False),
    )
    op.create_index("ix_tickets_queue", "tickets", ["service", "business_day", "state", "rank", "sort_at"])
    op.create_index("ix_tickets_token", "tickets", ["token"], unique=True)
    op.create_index("ix_tickets_person", "tickets", ["key_hash", "business_day"])
    op.create_index("ix_tickets_day_state", "tickets", ["business_day", "state"])
    op.create_index("ix_tickets_called", "tickets", ["business_day", "called_at"])
    op.create_index("ix_tickets_parent", "tickets", ["parent_id"])
    op.create_table(
        "transitions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.BigInteger, nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("window", sa.Integer),
    )
    op.create_index("ix_transitions_ticket", "transitions", ["ticket_id"])
    op.create_table(
        "counters",
        sa.Column("service", sa.String(32), primary_key=True),
        sa.Column("business_day", sa.String(10), primary_key=True),
        sa.Column("last_number", sa.Integer),
        sa.Column("issued", sa.Integer, nullable=False),
    )
    op.create_table(
        "windows",
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("clerk", sa.String(64)),
        sa.Column("pause_reason", sa.String(200)),
        sa.Column("current_ticket_id", sa.BigInteger),
        sa.Column("streak", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ratings",
        sa.Column("ticket_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("window", sa.Integer),
        sa.Column("clerk", sa.String(64)),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("business_day", sa.String(10), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("seq", Id, primary_key=True, autoincrement=True),
        sa.Column("type", sa.String(48), nullable=False),
        sa.Column("topics", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Drop the tables (development only: a hall never deletes its records)."""
    for name in ("events", "ratings", "windows", "counters", "transitions", "tickets"):
        op.drop_table(name)
