"""a revision whose upgrade always fails, after its DDL ran

Rewind's tests migrate to it to see a failed step on a real database: the column it adds must
be rolled back with it, and the database must stay at 0002. Never pin it.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("items", sa.Column("broken", sa.Text, nullable=True))
    raise RuntimeError("0003_always_fails: this revision fails on purpose (Rewind's tests)")


def downgrade() -> None:
    op.drop_column("items", "broken")
