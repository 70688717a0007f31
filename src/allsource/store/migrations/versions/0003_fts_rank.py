"""SQLite: make FTS5's built-in ``rank`` the title-weighted bm25 the store ranks by, so
``ORDER BY rank LIMIT n`` is answered inside FTS5 without joining every match first.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("INSERT INTO documents_fts(documents_fts, rank) "
                   "VALUES ('rank', 'bm25(10.0, 1.0)')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("INSERT INTO documents_fts(documents_fts, rank) VALUES ('rank', 'bm25()')")
