"""The marking of a relationship claim's report (verify/evidence.py), on SQLite and
PostgreSQL: a CLEAR report asserting "APT28 uses CHOPSTICK" through a relationship mention,
or an end's mention, that a CLEAR reader may not read, gives that reader no such claim —
neither in the stored grade (marked accordingly) nor in the regraded one.

Texts: MITRE ATT&CK v15 (as in ``test_verify_store``)."""

from __future__ import annotations

import orjson
import pytest
import sqlalchemy as sa

from allsource.model.markings import TLP, Marking
from allsource.store import schema as t
from allsource.store.sql import SqlStore
from allsource.verify.audience import grade_for
from allsource.verify.evidence import relation_markings
from allsource.verify.run import CLAIM_RELATIONSHIPS, get_grade, verify_store
from tests.verify.test_audience import CLEAR_READER, _add
from tests.verify.test_verify_store import ORIGINAL, _process


def _raise(store: SqlStore, object_prefix: str) -> None:
    m = t.mentions
    with store.engine.begin() as conn:
        conn.execute(m.update().where(m.c.object_id.startswith(object_prefix))
                     .values(tlp=int(TLP.RED)))


@pytest.mark.parametrize("hidden", ["relationship--", "intrusion-set--"])
def test_a_claim_through_hidden_evidence_is_not_the_readers(store: SqlStore,
                                                            hidden: str) -> None:
    doc = _add(store, "first.example", ORIGINAL, Marking())
    _process(store)
    verify_store(store)
    before = get_grade(store, "document", doc.id)
    assert before is not None and before["tlp"] == int(TLP.CLEAR)
    assert any(c["key"].startswith("rel:uses:") for c in before["explanation"]["claims"])

    _raise(store, hidden)  # the relationship, or its end APT28, as proposed at RED
    verify_store(store)
    with store.engine.connect() as conn:
        marks = relation_markings(conn, CLAIM_RELATIONSHIPS)
        [rel_id] = conn.execute(sa.select(t.relationships.c.id)).scalars().all()
    assert {m.tlp for (d, _), m in marks.items() if d == doc.id} == {TLP.RED}
    stored = get_grade(store, "document", doc.id)
    assert stored is not None and stored["tlp"] == int(TLP.RED)
    seen = grade_for(store, "document", doc.id, CLEAR_READER)
    shown = orjson.dumps(seen).decode()
    assert "rel:uses:" not in shown and rel_id not in shown
    if seen is not None:  # the document's other claims, if any, still count
        assert all(not c["key"].startswith("rel:") for c in seen["explanation"]["claims"])
