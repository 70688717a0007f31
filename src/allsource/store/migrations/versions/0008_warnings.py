"""Early-warning baselines and warnings.

One row per warning a detector raised: the series key (``topic:cyber``, ``country:UA`` …), the
day, the method, what was observed and expected, the score (a p-value or a z-score) and the
numbers that explain it; unique per (key, day, method), so re-running a day adds nothing.
Marked no lower than the documents counted on that day.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "warnings",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("label", sa.Text, nullable=False, server_default=""),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("observed", sa.Float, nullable=False),
        sa.Column("expected", sa.Float, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("details", JSONType, nullable=False),
        sa.Column("alert_id", sa.String(120)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("tlp", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("classification", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("compartments", sa.Text, nullable=False, server_default=""),
        sa.Column("releasability", sa.Text, nullable=False, server_default=""),
        sa.UniqueConstraint("key", "day", "method", name="uq_warnings_key_day_method"),
    )
    op.create_index("ix_warnings_day", "warnings", ["day"])


def downgrade() -> None:
    op.drop_index("ix_warnings_day", table_name="warnings")
    op.drop_table("warnings")
