"""Analysts' topic labels — one row per (document, topic) saying whether the document is
about the topic, who said so and when — and the topic models retrained from them (every
retraining is kept, so a bad one can be rolled back).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "topic_labels",
        sa.Column("document_id", sa.String(80), primary_key=True),
        sa.Column("topic", sa.String(60), primary_key=True),
        sa.Column("positive", sa.Boolean, nullable=False),
        sa.Column("analyst", sa.String(120), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_topic_labels_topic", "topic_labels", ["topic"])
    op.create_table(
        "topic_models",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(40), nullable=False),
        sa.Column("model", JSONType, nullable=False),
        sa.Column("metrics", JSONType, nullable=False),
        sa.Column("labels_used", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("topic_models")
    op.drop_table("topic_labels")
