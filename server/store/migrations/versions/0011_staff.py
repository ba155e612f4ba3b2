"""Staff directory (issue 16): staff fields on accounts, their photos.

Revision ID: 0011_staff
Revises: 0010_alerts_dedup
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_staff"
down_revision = "0010_alerts_dedup"
branch_labels = None
depends_on = None

COLUMNS = ("department", "serve_windows", "serve_services", "photo_at")


def upgrade() -> None:
    """Add 所属单位, allowed windows and services, photo time to accounts; create staff_photos."""
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("department", sa.String(100)))
        batch.add_column(sa.Column("serve_windows", sa.Text))
        batch.add_column(sa.Column("serve_services", sa.Text))
        batch.add_column(sa.Column("photo_at", sa.BigInteger))
    op.create_table(
        "staff_photos",
        sa.Column("account_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Drop staff_photos and the staff columns."""
    op.drop_table("staff_photos")
    with op.batch_alter_table("accounts") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
