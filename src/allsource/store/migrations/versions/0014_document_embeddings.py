"""Document embeddings for search by meaning: one static-model vector per document
(float16 bytes), keyed by the model that made it.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_embeddings",
        sa.Column("document_id", sa.String(80), primary_key=True),
        sa.Column("model", sa.String(40), nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("document_embeddings")
