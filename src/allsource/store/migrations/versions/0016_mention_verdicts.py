"""Analysts' verdicts on extracted mentions: "not this entity here", "this name is never this
entity", "this is a different entity" — with who, when and why, undoable.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mention_verdicts",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("document_id", sa.String(80), nullable=False, server_default=""),
        sa.Column("entity_id", sa.String(120), nullable=False),
        sa.Column("entity_name", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_key", sa.Text, nullable=False),
        sa.Column("other_id", sa.String(120), nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("undone_at", sa.DateTime),
        sa.Column("undone_by", sa.String(120)),
        sa.Column("undo_reason", sa.Text),
    )
    op.create_index("ix_mention_verdicts_document_id", "mention_verdicts", ["document_id"])
    op.create_index("ix_mention_verdicts_entity_id", "mention_verdicts", ["entity_id"])


def downgrade() -> None:
    op.drop_table("mention_verdicts")
