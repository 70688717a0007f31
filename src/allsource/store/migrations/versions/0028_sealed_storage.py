"""A sealed document's blind tokens are kept in the full-text index only, not in its row
(store/blind_storage.py).

``index_title``/``index_text`` become a marker on rows sealed from now on: ``''`` (tokens in
the index only), ``NULL`` (plain row), token strings (a row sealed before this revision).

* SQLite: the FTS5 triggers index plain rows and token-string rows as before and leave rows
  whose ``index_text`` is ``''`` to the store, which inserts their tokens itself. An update
  from token strings to ``''`` keeps the entries (they are the same tokens);
* PostgreSQL: the generated ``tsv`` column becomes an ordinary column (``DROP EXPRESSION``
  keeps every value and the GIN index), filled by a ``BEFORE INSERT OR UPDATE`` trigger for
  plain rows (``english``) and token-string rows (``simple``), and left as the store wrote it
  when ``index_text`` is ``''``.

Then rows sealed before this revision are converted without the key: their tokens are in
the index already, so both strings are set to ``''`` and the triggers keep the index as it
is. The strings' old copies stay in free pages (SQLite) or dead row versions (PostgreSQL)
until a ``VACUUM``; they are keyed hashes, as the index itself holds.

Downgrade cannot bring the token strings back without the key: it refuses while converted
rows exist (``keys encrypt-existing`` cannot help either; restore a backup instead).

Revision ID: 0028
Revises: 0027
"""

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

_TRIGGERS = ("documents_ai", "documents_ad", "documents_au")
# rows with index_text '' are indexed by the store (their tokens are not in the row)
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER documents_ai AFTER INSERT ON documents "
    "WHEN new.index_text IS NOT '' BEGIN "
    "INSERT INTO documents_fts(rowid, title, text) VALUES (new.seq, "
    "coalesce(new.index_title, new.title), coalesce(new.index_text, new.text)); END",
    "CREATE TRIGGER documents_ad AFTER DELETE ON documents "
    "WHEN old.index_text IS NOT '' BEGIN "
    "INSERT INTO documents_fts(documents_fts, rowid, title, text) VALUES ('delete', old.seq, "
    "coalesce(old.index_title, old.title), coalesce(old.index_text, old.text)); END",
    # old entries go unless the row is converted (token strings → '', the same tokens);
    # new ones come unless the store writes them ('')
    "CREATE TRIGGER documents_au AFTER UPDATE OF title, text, index_title, index_text "
    "ON documents BEGIN "
    "INSERT INTO documents_fts(documents_fts, rowid, title, text) SELECT 'delete', old.seq, "
    "coalesce(old.index_title, old.title), coalesce(old.index_text, old.text) "
    "WHERE old.index_text IS NULL OR (old.index_text <> '' AND new.index_text IS NOT ''); "
    "INSERT INTO documents_fts(rowid, title, text) SELECT new.seq, "
    "coalesce(new.index_title, new.title), coalesce(new.index_text, new.text) "
    "WHERE new.index_text IS NOT ''; END",
)
# as 0020 left them
_SQLITE_TRIGGERS_0020 = (
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
_PG_FUNCTION = """
CREATE FUNCTION documents_tsv() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.index_text IS NULL THEN
    NEW.tsv := setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A') ||
               setweight(to_tsvector('english', coalesce(left(NEW.text, 500000), '')), 'B');
  ELSIF NEW.index_text <> '' THEN
    NEW.tsv := setweight(to_tsvector('simple', coalesce(NEW.index_title, '')), 'A') ||
               setweight(to_tsvector('simple', NEW.index_text), 'B');
  END IF;  -- '': the store wrote tsv from tokens it does not keep (or kept the old one)
  RETURN NEW;
END $$
"""
_PG_TRIGGER = ("CREATE TRIGGER documents_tsv BEFORE INSERT OR UPDATE OF title, text, "
               "index_title, index_text ON documents FOR EACH ROW "
               "EXECUTE FUNCTION documents_tsv()")
_PG_TSV_0020 = (
    "ALTER TABLE documents ADD COLUMN tsv tsvector GENERATED ALWAYS AS (CASE "
    "WHEN index_text IS NOT NULL THEN "
    "setweight(to_tsvector('simple', coalesce(index_title, '')), 'A') || "
    "setweight(to_tsvector('simple', index_text), 'B') "
    "ELSE setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(left(text, 500000), '')), 'B') END) STORED")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in _TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for sql in _SQLITE_TRIGGERS:
            op.execute(sql)
    elif dialect == "postgresql":
        op.execute("ALTER TABLE documents ALTER COLUMN tsv DROP EXPRESSION")
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    # rows sealed before: their tokens are in the index already, the strings go
    op.execute("UPDATE documents SET index_title = '', index_text = '' "
               "WHERE index_text <> ''")


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    converted = bind.exec_driver_sql(
        "SELECT count(*) FROM documents WHERE index_text = ''").scalar_one()
    if converted:
        raise RuntimeError(f"{converted} sealed documents keep their blind tokens in the "
                           "full-text index only; revision 0027 needs them in the row, which "
                           "cannot be rebuilt without the key (restore a backup instead)")
    if dialect == "sqlite":
        for name in _TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for sql in _SQLITE_TRIGGERS_0020:
            op.execute(sql)
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER documents_tsv ON documents")
        op.execute("DROP FUNCTION documents_tsv()")
        op.execute("ALTER TABLE documents DROP COLUMN tsv")
        op.execute(_PG_TSV_0020)
        op.execute("CREATE INDEX ix_documents_tsv ON documents USING gin (tsv)")
