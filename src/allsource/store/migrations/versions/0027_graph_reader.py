"""What a restricted reader's graph summary (and every other reader-visibility check) needs
to judge a mention from an index alone.

A reader sees a relationship or an object through a readable mention in a readable document
(:func:`allsource.store.derived.visible`): per row, ``EXISTS (mentions m JOIN documents d
WHERE m.object_id = ? AND readable(m) AND readable(d))``. The mentions' primary key starts with
``object_id`` but holds no marking, so each check also read the mention's table row. This
index holds what the check reads of a mention — its marking and its document — next to the
object's ID: one index search per mention (SQLite defers the table seek until a column outside
the index is needed, and none is).

Measured on ``benchmarks/graph.py``'s store (TLP:AMBER reader, 57,000-node neighbourhoods):
the reader's call fell from 1.19× to 0.95× the per-node baseline's CPU time. Cost: one more
index entry per mention written (``benchmarks/evidence_writes.py``; figures in
benchmarks/RESULTS.md, "graph reader" section). The document's own check stays a primary-key
search and a row read: an index on ``documents (id, marking)`` took a further ~0.05× off the
reader but cost about 8 % of document ingest (which writes documents only), so it is not made.

Revision ID: 0027
Revises: 0026
"""

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

_NAME = "ix_mentions_object_marking"
_COLUMNS = ["object_id", "tlp", "classification", "compartments", "releasability",
            "document_id"]


def upgrade() -> None:
    op.create_index(_NAME, "mentions", _COLUMNS)


def downgrade() -> None:
    op.drop_index(_NAME, table_name="mentions")
