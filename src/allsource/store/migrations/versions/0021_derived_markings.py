"""Derived views carry the markings of their evidence: marking columns on ``mentions`` (the
marking of one piece of evidence), ``grades`` and ``claim_grades`` (the combined marking of
what a stored grade rests on) and ``case_events`` (the marking of what an event references).

Existing rows are filled in conservatively: a mention gets its document's marking combined
with its object's (the object's marking is that of its first proposal, which can be stricter
than this mention's: never looser); a case event gets its case's marking combined with every
document the case's log names; grades get the most restrictive marking (TLP:RED, the highest
classification, releasable to ``owner`` only), so a reader is served a grade computed from
what they may read until ``allsource verify`` runs again.

Revision ID: 0021
Revises: 0020
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_TABLES = ("mentions", "grades", "claim_grades", "case_events")
_COLUMNS = ("tlp", "classification", "compartments", "releasability")


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("tlp", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("classification", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("compartments", sa.Text, nullable=False, server_default=""),
        sa.Column("releasability", sa.Text, nullable=False, server_default=""),
    ]


def _greatest(a: str, b: str) -> str:
    fn = "GREATEST" if op.get_bind().dialect.name == "postgresql" else "MAX"
    return f"{fn}({a}, {b})"


def _combine_mentions(table: str) -> str:
    """The UPDATE giving each mention of a row of ``table`` that row's marking combined with
    its document's."""
    pair = f"FROM documents d, {table} o WHERE d.id = mentions.document_id " \
           "AND o.id = mentions.object_id"
    return f"""
        UPDATE mentions SET
          tlp = (SELECT {_greatest('d.tlp', 'o.tlp')} {pair}),
          classification = (SELECT {_greatest('d.classification', 'o.classification')} {pair}),
          compartments = (SELECT CASE WHEN o.compartments = '' THEN d.compartments
                                      WHEN d.compartments = '' THEN o.compartments
                                      ELSE d.compartments || ',' || o.compartments END {pair}),
          releasability = (SELECT CASE WHEN o.releasability = '' THEN d.releasability
                                       WHEN d.releasability = '' THEN o.releasability
                                       WHEN d.releasability = o.releasability
                                            THEN d.releasability
                                       ELSE 'owner' END {pair})
        WHERE EXISTS (SELECT 1 {pair})"""


def upgrade() -> None:
    for table in _TABLES:
        for column in _columns():
            op.add_column(table, column)
    # mentions: document combined with object (compartments: union, written as a comma-joined
    # list that may repeat a name; releasability: the one list if the other is empty, equal
    # lists kept, otherwise owner-only — the conservative reading of an intersection); then
    # mentions of relationships: the document's marking and the relationship's
    op.execute(_combine_mentions("objects"))
    op.execute(_combine_mentions("relationships"))
    for table in ("grades", "claim_grades"):
        op.execute(f"UPDATE {table} SET tlp = 4, classification = 4, releasability = 'owner'")
    _case_events()


def _case_events() -> None:
    """Each earlier event: its case's marking combined with every document any event of
    that case named — the log does not say what the case's marking was when an event was
    written, and an event that names no document (an edited description) may still repeat
    one's content (case tables are small: done row by row)."""
    conn = op.get_bind()
    cases = {r.id: r for r in conn.execute(sa.text(
        "SELECT id, tlp, classification, compartments, releasability FROM cases"))}
    events = conn.execute(sa.text("SELECT id, case_id, details FROM case_events")).all()
    named: dict[str, set[str]] = {}
    for event in events:
        details = event.details
        if isinstance(details, str):
            details = json.loads(details or "{}")
        doc_id = (details or {}).get("document_id")
        if doc_id:
            named.setdefault(event.case_id, set()).add(str(doc_id))
    marks: dict[str, dict[str, object]] = {}
    for case_id in {e.case_id for e in events}:
        found = [cases[case_id]] if case_id in cases else []
        for doc_id in sorted(named.get(case_id, ())):
            found += conn.execute(sa.text(
                "SELECT tlp, classification, compartments, releasability FROM documents "
                "WHERE id = :id"), {"id": doc_id}).all()
        if case_id not in cases:  # a deleted case: owner only
            marks[case_id] = {"tlp": 4, "classification": 4, "compartments": "",
                              "releasability": "owner"}
        else:
            marks[case_id] = _combine(found)
    for event in events:
        conn.execute(sa.text(
            "UPDATE case_events SET tlp = :tlp, classification = :classification, "
            "compartments = :compartments, releasability = :releasability WHERE id = :id"),
            {**marks[event.case_id], "id": event.id})


def _combine(rows: list[sa.Row[object]]) -> dict[str, object]:
    tlp = max((int(r.tlp) for r in rows), default=0)
    cls = max((int(r.classification) for r in rows), default=0)
    comp: set[str] = set()
    rel: set[str] | None = None
    for r in rows:
        comp |= {c for c in str(r.compartments or "").split(",") if c}
        own = {x for x in str(r.releasability or "").split(",") if x}
        if own:
            rel = own if rel is None else (rel & own or {"owner"})
    return {"tlp": tlp, "classification": cls, "compartments": ",".join(sorted(comp)),
            "releasability": ",".join(sorted(rel or ()))}


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            for column in _COLUMNS:
                batch.drop_column(column)
