"""Canonical entities: a collected object that denotes a known entity points at it
(``objects.canonical_id``), and a mention moved onto the canonical entity remembers the
object it was recorded for (``mentions.via``), so the link can be undone.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (no table rebuild on SQLite: both tables can be large)
    op.add_column("objects", sa.Column("canonical_id", sa.String(120), nullable=True))
    op.create_index("ix_objects_canonical_id", "objects", ["canonical_id"])
    op.add_column("mentions", sa.Column("via", sa.String(120), nullable=True))
    op.create_index("ix_mentions_via", "mentions", ["via"])


def downgrade() -> None:
    op.drop_index("ix_mentions_via", table_name="mentions")
    op.drop_index("ix_objects_canonical_id", table_name="objects")
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("via")
    with op.batch_alter_table("objects") as batch:
        batch.drop_column("canonical_id")
