"""What the graph summary needs to read a neighbourhood fast: the relationships of a set of
objects, read from an index alone.

:mod:`allsource.analyze.graph` reads ``id, relationship_type, source_ref, target_ref`` of
every relationship with one end in a frontier (``source_ref IN (…)``, then ``target_ref IN
(…)``): 63,000 rows for a 57,000-node neighbourhood. With an index on ``source_ref`` alone,
each row costs a second B-tree search in the table for the other three columns. These two
indexes hold all four, so the read is index-only on SQLite (``SEARCH … USING COVERING
INDEX``) and can be an index-only scan on PostgreSQL. Each starts with the column the
single-column index it replaces held, so every query those served is served the same way,
and ingest keeps two relationship indexes (each wider) instead of gaining two more.

Revision ID: 0026
Revises: 0025
"""

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_COVERING = {
    "ix_relationships_source_ends": ["source_ref", "target_ref", "relationship_type", "id"],
    "ix_relationships_target_ends": ["target_ref", "source_ref", "relationship_type", "id"],
}
_SINGLE = {"ix_relationships_source_ref": ["source_ref"],
           "ix_relationships_target_ref": ["target_ref"]}


def upgrade() -> None:
    for name, columns in _COVERING.items():
        op.create_index(name, "relationships", columns)
    for name in _SINGLE:
        op.drop_index(name, table_name="relationships")


def downgrade() -> None:
    for name, columns in _SINGLE.items():
        op.create_index(name, "relationships", columns)
    for name in _COVERING:
        op.drop_index(name, table_name="relationships")
