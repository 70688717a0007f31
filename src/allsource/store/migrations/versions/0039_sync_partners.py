"""Partner sync: the push-back cursor of each TAXII partner source (``sync_push``) (wt-sync).

Revision ID: 0039
Revises: 0038

One row per partner source: the last ``object_versions.seq`` whose sightings, notes and
opinions were pushed back to the partner (:mod:`allsource.share.sync_push`), advanced only
after the partner's status answer, so a kill between two pushes repeats nothing.
"""

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_push",
        sa.Column("source_id", sa.String(80), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("pushed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sync_push")
