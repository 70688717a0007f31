"""PostgreSQL: the full-text index's pending list bounded at 1 MB instead of 4 MB.

A GIN index with ``fastupdate`` (PostgreSQL's default) appends new entries to an unsorted
*pending list* and merges it into the index only when it exceeds ``gin_pending_list_limit``
(4 MB by default) or when (auto)vacuum runs. Every search reads the whole pending list, row
entry by row entry, so a store just written searched up to 4 MB of it per query — up to 511
pages after the BBC corpus on an encrypted store, whose blind ``tsv`` (11-character tokens,
stop words kept: store/blind.py) fills the list about twice as fast as the plain store's
``english`` one. Whether a benchmark or a reader met a full list or an empty one depended on
where the last merge happened to fall: on the same corpus the plain store's list held 86
pages and the encrypted store's 511, and the search's server CPU differed by half (3.65 →
5.75 ms a query; 3.80 → 4.05 after ``gin_clean_pending_list``; benchmarks/RESULTS.md).

At 1 MB (128 pages) a query reads at most a quarter of that, on plain and encrypted stores
alike; inserts merge four times as often, in lists still large enough to be merged in key
order. SQLite's FTS5 has no such list (its segments are merged by the writer).

Revision ID: 0030
Revises: 0029
"""

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

#: kB, PostgreSQL's unit for the storage parameter
PENDING_LIST_KB = 1024


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER INDEX ix_documents_tsv SET "
                   f"(gin_pending_list_limit = {PENDING_LIST_KB})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER INDEX ix_documents_tsv RESET (gin_pending_list_limit)")
