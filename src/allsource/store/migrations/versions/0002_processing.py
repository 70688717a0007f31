"""Processing: per-document stage results, stories (near-duplicate clusters) and the LSH
band/signature tables that keep story assignment incremental.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "annotations",
        sa.Column("document_id", sa.String(80), primary_key=True),
        sa.Column("stage", sa.String(60), primary_key=True),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("data", JSONType, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_annotations_stage_version", "annotations", ["stage", "version"])
    op.create_table(
        "stories",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("canonical_document_id", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "story_members",
        sa.Column("document_id", sa.String(80), primary_key=True),
        sa.Column("story_id", sa.String(80), nullable=False),
        sa.Column("similarity", sa.Float, nullable=False),
        sa.Column("matched_id", sa.String(80)),
        sa.Column("added_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_story_members_story_id", "story_members", ["story_id"])
    op.create_table(
        "lsh_bands",
        sa.Column("band", sa.SmallInteger, primary_key=True),
        sa.Column("bucket", sa.LargeBinary, primary_key=True),
        sa.Column("document_id", sa.String(80), primary_key=True),
    )
    op.create_table(
        "minhash_signatures",
        sa.Column("document_id", sa.String(80), primary_key=True),
        sa.Column("signature", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    for table in ("minhash_signatures", "lsh_bands", "story_members", "stories", "annotations"):
        op.drop_table(table)
