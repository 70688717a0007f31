"""The marking of one report of a relationship claim: what a reader must be able to read
to see that the document asserts it.

A relationship claim (``rel:<type>:<source>:<target>``, see ``_relation_claims`` in
:mod:`allsource.verify.run`) is reported by a document through a *mention* of the
relationship, which carries its own
marking (the relationship as that document proposed it, within the document's marking:
:mod:`allsource.store.derived`). Its text and key name both ends, so a reader who may read
the document but not that mention — or not an end — must not see the claim. The report's
marking is therefore the combination of:

* the relationship's mentions in that document;
* for each end, its mentions in that document; an end the document does not mention is
  covered by the combination of every piece of evidence of it (its mentions and their
  documents), or by its own marking when nothing mentions it. Combining is conservative:
  the derived-view rule shows an object through *any* readable mention, and a reader who
  may read the combination may read each.

``allsource verify`` folds these into the marking of every stored grade resting on the
claim, and the read-time regrading (:mod:`allsource.verify.audience`) keeps only the reports
whose marking the reader may read, so both paths drop the same reports.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa

from allsource.model.markings import Marking
from allsource.store import schema as t
from allsource.store.sql import chunks

__all__ = ["RELATION_PREFIX", "relation_markings"]

RELATION_PREFIX = "rel:"
_COLS = t.MARKING_NAMES


def _marking(row: sa.Row[tuple[object, ...]], prefix: str = "") -> Marking:
    m = row._mapping
    return Marking.from_columns({c: m[prefix + c] for c in _COLS})


def relation_markings(conn: sa.Connection, relationship_types: Sequence[str],
                      doc_ids: Sequence[str] | None = None
                      ) -> dict[tuple[str, str], Marking]:
    """(document ID, claim key) → the report's marking, for every relationship mention (of
    ``doc_ids`` only, when given)."""
    m, r, o, d = t.mentions, t.relationships, t.objects, t.documents
    base = (sa.select(m.c.document_id, r.c.relationship_type, r.c.source_ref, r.c.target_ref,
                      *[m.c[c] for c in _COLS])
            .join(r, r.c.id == m.c.object_id)
            .where(r.c.relationship_type.in_(list(relationship_types))))
    rows: list[sa.Row[tuple[object, ...]]] = []
    if doc_ids is None:
        rows = list(conn.execute(base))
    else:
        for chunk in chunks(sorted(set(doc_ids))):
            rows += conn.execute(base.where(m.c.document_id.in_(list(chunk)))).all()
    out: dict[tuple[str, str], Marking] = {}
    ends: dict[tuple[str, str], list[str]] = defaultdict(list)  # (doc, key) → end IDs
    for row in rows:
        key = f"{RELATION_PREFIX}{row.relationship_type}:{row.source_ref}:{row.target_ref}"
        at = (row.document_id, key)
        out[at] = out[at].combine(_marking(row)) if at in out else _marking(row)
        ends[at] = [row.source_ref, row.target_ref]
    # the ends' mentions in the same documents
    refs = sorted({e for pair in ends.values() for e in pair})
    docs = sorted({doc for doc, _ in ends})
    here: dict[tuple[str, str], Marking] = {}
    for ref_chunk in chunks(refs):
        for doc_chunk in chunks(docs):
            for row in conn.execute(sa.select(m.c.document_id, m.c.object_id,
                                              *[m.c[c] for c in _COLS])
                                    .where(m.c.object_id.in_(list(ref_chunk)),
                                           m.c.document_id.in_(list(doc_chunk)))):
                at = (row.document_id, row.object_id)
                here[at] = here[at].combine(_marking(row)) if at in here else _marking(row)
    # ends a document does not mention: all their evidence, else their own marking
    elsewhere = sorted({e for (doc, _), pair in ends.items() for e in pair
                        if (doc, e) not in here})
    anywhere: dict[str, Marking] = {}
    for chunk in chunks(elsewhere):
        for row in conn.execute(
                sa.select(m.c.object_id, *[m.c[c] for c in _COLS],
                          *[d.c[c].label("d_" + c) for c in _COLS])
                .join(d, d.c.id == m.c.document_id).where(m.c.object_id.in_(list(chunk)))):
            both = _marking(row).combine(_marking(row, "d_"))
            anywhere[row.object_id] = (anywhere[row.object_id].combine(both)
                                       if row.object_id in anywhere else both)
        for row in conn.execute(sa.select(o.c.id, *[o.c[c] for c in _COLS])
                                .where(o.c.id.in_([e for e in chunk if e not in anywhere]))):
            anywhere[row.id] = _marking(row)
    for (doc, key), pair in ends.items():
        for end in pair:
            found = here.get((doc, end)) or anywhere.get(end)
            if found is not None:
                out[(doc, key)] = out[(doc, key)].combine(found)
    return out
