"""What a restricted reader's graph summary (and every other reader-visibility check) needs
to judge evidence from indexes alone.

A reader sees a relationship or an object through a readable mention in a readable document
(:func:`allsource.store.derived.visible`): per row, ``EXISTS (mentions m JOIN documents d
WHERE m.object_id = ? AND readable(m) AND readable(d))``. With only the primary keys, each
check is four B-tree searches: the mention's key, its row (for the marking columns), the
document's key, its row — and a real document's row holds its text before the marking
columns, so reading them walks the text's overflow pages. These two indexes hold what the
check reads, so it is two index-only searches (``SEARCH … USING COVERING INDEX``): a
57,000-node neighbourhood's 61,000 relationship checks fall from ~0.33 s to ~0.07 s CPU on
``benchmarks/graph.py``'s store. The cost is one more index entry per mention and per
document written (measured in benchmarks/RESULTS.md, "graph reader" section).

Revision ID: 0027
Revises: 0026
"""

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

_MARKING = ["tlp", "classification", "compartments", "releasability"]
_COVERING = {
    "ix_mentions_object_marking": ("mentions", ["object_id", *_MARKING, "document_id"]),
    "ix_documents_id_marking": ("documents", ["id", *_MARKING]),
}


def upgrade() -> None:
    for name, (table, columns) in _COVERING.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _) in _COVERING.items():
        op.drop_index(name, table_name=table)
