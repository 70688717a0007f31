"""Search indexes: a version counter for the embeddings of each model (checked without a
scan) and what the search plans need.

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def _embedding_versions_up() -> None:
    """Search by meaning: one version row per model (see allsource.store.embeddings), started
    at 1 for every model that already has vectors, so a fresh reader loads them once."""
    op.create_table(
        "embedding_versions",
        sa.Column("model", sa.String(40), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO embedding_versions (model, version) "
               "SELECT model, 1 FROM document_embeddings GROUP BY model")


def _embedding_versions_down() -> None:
    op.drop_table("embedding_versions")


def upgrade() -> None:
    _embedding_versions_up()


def downgrade() -> None:
    _embedding_versions_down()
