"""Risk scores: one row per scored indicator, entity or story — the score (likelihood ×
impact), its explained components, when it was last seen and when it expires (MISP-style
decay), marked no lower than the documents it was computed from. Recomputed as a whole by
``allsource risk score``.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "risk_scores",
        sa.Column("subject_type", sa.String(20), primary_key=True),
        sa.Column("subject_id", sa.String(120), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("likelihood", sa.Float, nullable=False),
        sa.Column("impact", sa.Float, nullable=False),
        sa.Column("components", JSONType, nullable=False),
        sa.Column("last_seen", sa.DateTime),
        sa.Column("expires_at", sa.DateTime),
        sa.Column("computed_at", sa.DateTime, nullable=False),
        sa.Column("tlp", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("classification", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("compartments", sa.Text, nullable=False, server_default=""),
        sa.Column("releasability", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_risk_scores_type_score", "risk_scores", ["subject_type", "score"])


def downgrade() -> None:
    op.drop_index("ix_risk_scores_type_score", table_name="risk_scores")
    op.drop_table("risk_scores")
