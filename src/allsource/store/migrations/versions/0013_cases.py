"""Case workspaces for Analysis of Competing Hypotheses (``allsource.analyze.ach``).

``cases`` holds one row per case (question, status open|closed, owner, markings);
``case_hypotheses`` and ``case_evidence`` are its columns and rows, ordered by ``position``;
evidence may link a stored document or a graded claim (``claim_key``/``claim_value`` of
``claim_grades``) and may override the credibility taken from their grade.
``case_ratings`` holds one CC/C/N/I/II cell per (evidence, hypothesis). ``case_events`` is
the audit trail of who changed what; it outlives the case it describes.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _markings() -> list[sa.Column[object]]:
    return [
        sa.Column("tlp", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("classification", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("compartments", sa.Text, nullable=False, server_default=""),
        sa.Column("releasability", sa.Text, nullable=False, server_default=""),
    ]


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("question", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("owner", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        *_markings(),
    )
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_index("ix_cases_updated_at", "cases", ["updated_at"])
    op.create_table(
        "case_hypotheses",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("case_id", sa.String(80), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_index("ix_case_hypotheses_case_id", "case_hypotheses", ["case_id"])
    op.create_table(
        "case_evidence",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("case_id", sa.String(80), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("document_id", sa.String(80)),
        sa.Column("claim_key", sa.String(300)),
        sa.Column("claim_value", sa.String(200)),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("credibility", sa.SmallInteger),
        sa.Column("relevance", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_case_evidence_case_id", "case_evidence", ["case_id"])
    op.create_table(
        "case_ratings",
        sa.Column("evidence_id", sa.String(80), primary_key=True),
        sa.Column("hypothesis_id", sa.String(80), primary_key=True),
        sa.Column("rating", sa.String(2), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_case_ratings_hypothesis_id", "case_ratings", ["hypothesis_id"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(80), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("details", JSONType, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])


def downgrade() -> None:
    for table in ("case_events", "case_ratings", "case_evidence", "case_hypotheses", "cases"):
        op.drop_table(table)
