"""好差评 closed loop: rating uid/reasons/text/case on ratings, the 差评 cases and their steps.

Revision ID: 0008_ratings
Revises: 0007_security
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_ratings"
down_revision = "0007_security"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add the rating columns; create rating_cases and case_steps."""
    with op.batch_alter_table("ratings") as batch:
        batch.add_column(sa.Column("uid", sa.String(36)))
        batch.add_column(sa.Column("reasons", sa.Text))
        batch.add_column(sa.Column("text", sa.Text))
        batch.add_column(sa.Column("case_id", sa.BigInteger))
    op.create_index("ix_ratings_uid", "ratings", ["uid"], unique=True)
    op.create_table(
        "rating_cases",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.BigInteger, nullable=False, unique=True),
        sa.Column("rating_uid", sa.String(36), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("before_appeal", sa.String(16)),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("window", sa.Integer),
        sa.Column("clerk", sa.String(64)),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("business_day", sa.String(10), nullable=False),
        sa.Column("opened_at", sa.BigInteger, nullable=False),
        sa.Column("verify_due", sa.BigInteger, nullable=False),
        sa.Column("rectify_due", sa.BigInteger, nullable=False),
        sa.Column("verified_at", sa.BigInteger),
        sa.Column("replied_at", sa.BigInteger),
        sa.Column("closed_at", sa.BigInteger),
        sa.Column("outcome", sa.String(32)),
        sa.Column("callback_result", sa.String(16)),
        sa.Column("alerted", sa.String(16)),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_rating_cases_state", "rating_cases", ["state", "opened_at"])
    op.create_table(
        "case_steps",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_case_steps_case", "case_steps", ["case_id", "at"])


def downgrade() -> None:
    """Drop the case tables and the rating columns."""
    op.drop_index("ix_case_steps_case", table_name="case_steps")
    op.drop_table("case_steps")
    op.drop_index("ix_rating_cases_state", table_name="rating_cases")
    op.drop_table("rating_cases")
    op.drop_index("ix_ratings_uid", table_name="ratings")
    with op.batch_alter_table("ratings") as batch:
        for name in ("case_id", "text", "reasons", "uid"):
            batch.drop_column(name)
