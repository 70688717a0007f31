"""Each object's and relationship's least evidence marking, kept by triggers, for the graph.

A restricted reader's graph neighbourhood judged every relationship and far end by its
mentions and their documents (a probe of each per row). This stores, per object and
relationship, whether anyone mentions it and the least restrictive marking of its evidence
(``ev_state``, ``ev_tlp``, ``ev_classification``, ``ev_compartments``, ``ev_releasability``),
adds them to the two covering relationship indexes of 0026 and to a covering index on
``objects``, creates the triggers that keep them on every write, and fills them for the rows
already stored (:func:`allsource.store.graph_evidence.refresh`). See
:mod:`allsource.store.graph_evidence` for the rule and why it is exact.

Revision ID: 0045
Revises: 0044
"""

import sqlalchemy as sa
from alembic import op

from allsource.store import graph_evidence

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None

_EVIDENCE = ["ev_state", "ev_tlp", "ev_classification", "ev_compartments", "ev_releasability"]
_COVERING = {
    "ix_relationships_source_ends": ["source_ref", "target_ref", "relationship_type", "id"],
    "ix_relationships_target_ends": ["target_ref", "source_ref", "relationship_type", "id"],
}


def _columns() -> list[sa.Column[object]]:
    # nullable, no default: NULL is "unknown" (what the store's plain INSERTs write)
    return [sa.Column("ev_state", sa.SmallInteger), sa.Column("ev_tlp", sa.SmallInteger),
            sa.Column("ev_classification", sa.SmallInteger),
            sa.Column("ev_compartments", sa.Text), sa.Column("ev_releasability", sa.Text)]


def upgrade() -> None:
    conn = op.get_bind()
    for table in graph_evidence.TABLES:
        for column in _columns():
            op.add_column(table, column)
    graph_evidence.install_triggers(conn)
    graph_evidence.refresh(conn, everything=True)
    for name, columns in _COVERING.items():
        op.drop_index(name, table_name="relationships")
        op.create_index(name, "relationships", [*columns, *_EVIDENCE])
    op.create_index("ix_objects_evidence", "objects", ["id", *_EVIDENCE])


def downgrade() -> None:
    conn = op.get_bind()
    graph_evidence.drop_triggers(conn)
    op.drop_index("ix_objects_evidence", table_name="objects")
    for name, columns in _COVERING.items():
        op.drop_index(name, table_name="relationships")
        op.create_index(name, "relationships", columns)
    for table in graph_evidence.TABLES:
        with op.batch_alter_table(table) as batch:
            for column in reversed(_EVIDENCE):
                batch.drop_column(column)
