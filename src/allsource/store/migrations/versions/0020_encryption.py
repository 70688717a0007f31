"""Encryption at rest: wrapped data keys and the blind index of sealed documents.

``data_keys`` holds data keys wrapped by the key-encryption key (store/keys.py).
``documents.index_title``/``index_text`` hold the keyed-hash tokens of a sealed document
(store/blind.py); the full-text index reads them instead of ``title``/``text`` when they are
set, and the plain columns otherwise, so plaintext rows index exactly as before:

* SQLite: the FTS5 sync triggers insert/delete ``coalesce(index_x, x)``;
* PostgreSQL: the generated ``tsv`` column is rebuilt as a ``CASE``: ``simple``
  configuration over the tokens, the ``english`` one over plain text.

A partial index on rows without tokens lets the store ask cheaply whether plaintext rows
remain (they are searched with the plain query as well until ``keys encrypt-existing``).

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER documents_ai AFTER INSERT ON documents BEGIN "
    "INSERT INTO documents_fts(rowid, title, text) VALUES (new.seq, "
    "coalesce(new.index_title, new.title), coalesce(new.index_text, new.text)); END",
    "CREATE TRIGGER documents_ad AFTER DELETE ON documents BEGIN "
    "INSERT INTO documents_fts(documents_fts, rowid, title, text) VALUES ('delete', old.seq, "
    "coalesce(old.index_title, old.title), coalesce(old.index_text, old.text)); END",
    "CREATE TRIGGER documents_au AFTER UPDATE OF title, text, index_title, index_text "
    "ON documents BEGIN "
    "INSERT INTO documents_fts(documents_fts, rowid, title, text) VALUES ('delete', old.seq, "
    "coalesce(old.index_title, old.title), coalesce(old.index_text, old.text)); "
    "INSERT INTO documents_fts(rowid, title, text) VALUES (new.seq, "
    "coalesce(new.index_title, new.title), coalesce(new.index_text, new.text)); END",
)
_PLAIN_TRIGGERS = (
    "CREATE TRIGGER documents_ai AFTER INSERT ON documents BEGIN "
    "INSERT INTO documents_fts(rowid, title, text) VALUES (new.seq, new.title, new.text); END",
    "CREATE TRIGGER documents_ad AFTER DELETE ON documents BEGIN "
    "INSERT INTO documents_fts(documents_fts, rowid, title, text) "
    "VALUES ('delete', old.seq, old.title, old.text); END",
    "CREATE TRIGGER documents_au AFTER UPDATE OF title, text ON documents BEGIN "
    "INSERT INTO documents_fts(documents_fts, rowid, title, text) "
    "VALUES ('delete', old.seq, old.title, old.text); "
    "INSERT INTO documents_fts(rowid, title, text) VALUES (new.seq, new.title, new.text); END",
)
_PG_TSV = (
    "ALTER TABLE documents ADD COLUMN tsv tsvector GENERATED ALWAYS AS (CASE "
    "WHEN index_text IS NOT NULL THEN "
    "setweight(to_tsvector('simple', coalesce(index_title, '')), 'A') || "
    "setweight(to_tsvector('simple', index_text), 'B') "
    "ELSE setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(left(text, 500000), '')), 'B') END) STORED")
_PG_TSV_PLAIN = (
    "ALTER TABLE documents ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(left(text, 500000), '')), 'B')) STORED")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "data_keys",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("kek_id", sa.String(40), nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("rewrapped_at", sa.DateTime),
    )
    op.add_column("documents", sa.Column("index_title", sa.Text))
    op.add_column("documents", sa.Column("index_text", sa.Text))
    op.create_index("ix_documents_plain", "documents", ["seq"],
                    sqlite_where=sa.text("index_text IS NULL"),
                    postgresql_where=sa.text("index_text IS NULL"))
    if dialect == "sqlite":
        for name in ("documents_ai", "documents_ad", "documents_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for sql in _SQLITE_TRIGGERS:
            op.execute(sql)
    elif dialect == "postgresql":
        op.execute("ALTER TABLE documents DROP COLUMN tsv")
        op.execute(_PG_TSV)
        op.execute("CREATE INDEX ix_documents_tsv ON documents USING gin (tsv)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("documents_ai", "documents_ad", "documents_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for sql in _PLAIN_TRIGGERS:
            op.execute(sql)
    elif dialect == "postgresql":
        op.execute("ALTER TABLE documents DROP COLUMN tsv")
        op.execute(_PG_TSV_PLAIN)
        op.execute("CREATE INDEX ix_documents_tsv ON documents USING gin (tsv)")
    op.drop_index("ix_documents_plain", "documents")
    op.execute("ALTER TABLE documents DROP COLUMN index_text")
    op.execute("ALTER TABLE documents DROP COLUMN index_title")
    op.drop_table("data_keys")
