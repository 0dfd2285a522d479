"""add items.slug, backfilled from the name

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("items", sa.Column("slug", sa.Text, nullable=True))
    op.execute("UPDATE items SET slug = lower(name)")


def downgrade() -> None:
    op.drop_column("items", "slug")
