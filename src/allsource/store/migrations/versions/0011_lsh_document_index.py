"""Index ``lsh_bands`` by document, so deleting a document's bands (rebuild, reprocessing)
does not scan the whole table.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_lsh_bands_document_id", "lsh_bands", ["document_id"])


def downgrade() -> None:
    op.drop_index("ix_lsh_bands_document_id", table_name="lsh_bands")
