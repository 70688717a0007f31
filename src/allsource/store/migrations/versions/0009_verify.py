"""Verification: every claim's grade with its explanation, Admiralty grades of sources,
documents and stories, and analysts' reliability overrides (kept, never deleted).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "claim_grades",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("value", sa.String(200), primary_key=True),
        sa.Column("event", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("credibility", sa.SmallInteger, nullable=False),
        sa.Column("independent", sa.Integer, nullable=False),
        sa.Column("reports", sa.Integer, nullable=False),
        sa.Column("contradicted", sa.Boolean, nullable=False),
        sa.Column("explanation", JSONType, nullable=False),
        sa.Column("computed_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "claim_documents",
        sa.Column("document_id", sa.String(80), primary_key=True),
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("value", sa.String(200), primary_key=True),
        sa.Column("event", sa.Integer, nullable=False),
    )
    op.create_index("ix_claim_documents_key", "claim_documents", ["key", "value", "event"])
    op.create_table(
        "grades",
        sa.Column("subject_type", sa.String(20), primary_key=True),
        sa.Column("subject_id", sa.String(120), primary_key=True),
        sa.Column("reliability", sa.String(1)),
        sa.Column("credibility", sa.SmallInteger),
        sa.Column("corroboration", sa.Integer, nullable=False),
        sa.Column("explanation", JSONType, nullable=False),
        sa.Column("computed_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_grades_type_credibility", "grades", ["subject_type", "credibility"])
    op.create_table(
        "reliability_overrides",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_id", sa.String(80), nullable=False, index=True),
        sa.Column("reliability", sa.String(1)),
        sa.Column("analyst", sa.String(120), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    for table in ("reliability_overrides", "grades", "claim_documents", "claim_grades"):
        op.drop_table(table)
