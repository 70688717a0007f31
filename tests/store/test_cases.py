"""ACH case workspaces in the store, on SQLite and PostgreSQL: cases, hypotheses, evidence and
ratings with their audit trail; evidence credibility from the document's and the claim's
grade (or the analyst's override); markings raised by linked documents and enforced on read.
The documents are two short reports on the same ransomware incident (hand-written)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from allsource.analyze import ach
from allsource.analyze.ach import Rating, Relevance
from allsource.errors import InputError
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Source
from allsource.store import cases as cs
from allsource.store import schema as t
from allsource.store.sql import SqlStore

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
GREEN_READER = Audience(max_tlp=TLP.GREEN)


def _docs(store: SqlStore, *specs: tuple[str, Marking]) -> list[str]:
    src = Source("desk", "files", "x")
    store.add_source(src)
    docs = [Document.build(kind="article", title=title, text=title + " — full report.",
                           marking=marking) for title, marking in specs]
    store.write_batch(src, [Collected(d) for d in docs], [], None)
    return [d.id for d in docs]


def _grade(store: SqlStore, doc_id: str, credibility: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(t.grades.insert().values(
            subject_type="document", subject_id=doc_id, reliability="B",
            credibility=credibility, corroboration=1, explanation={}, computed_at=T0))


def _claim(store: SqlStore, key: str, value: str, credibility: int, independent: int,
           event: int = 0) -> None:
    with store.engine.begin() as conn:
        conn.execute(t.claim_grades.insert().values(
            key=key, value=value, event=event, kind="relationship", text=key,
            credibility=credibility, independent=independent, reports=independent,
            contradicted=False, explanation={}, computed_at=T0))


def test_case_lifecycle_and_matrix(store: SqlStore) -> None:
    case = cs.create_case(store, "Who hit the hospital?", owner="ana",
                          question="Which group deployed the ransomware?", now=T0)
    assert case.status == "open" and case.owner == "ana" and case.marking == Marking()
    h1 = cs.add_hypothesis(store, case.id, "Criminal affiliate", actor="ana")
    h2 = cs.add_hypothesis(store, case.id.split("--")[1][:8], "State-sponsored group", actor="ana",
                           description="Espionage under ransomware cover")
    assert (h1.label, h2.label) == ("H1", "H2") and h2.description.startswith("Espionage")

    solid, weak = _docs(store, ("Ransom note demands payment in Monero", Marking()),
                        ("Forum post claims a state link", Marking()))
    _grade(store, solid, 1)
    _grade(store, weak, 5)
    e1 = cs.add_evidence(store, case.id, actor="ana", document_id=solid)
    e2 = cs.add_evidence(store, case.id, actor="ana", document_id=weak,
                         relevance="high", description="Post claims state backing")
    e3 = cs.add_evidence(store, case.id, actor="ana", description="No data was exfiltrated")
    assert e1.description == "Ransom note demands payment in Monero"
    assert (e1.credibility, e1.credibility_from) == (1, "document")
    assert (e2.credibility, e2.relevance) == (5, Relevance.HIGH)
    assert (e3.credibility, e3.credibility_from) == (None, None)

    for ev, hyp, r in (("E1", "H1", "C"), ("E1", "H2", "I"), ("E2", "H1", "II"),
                       ("E2", "H2", "C"), ("E3", "H1", "C"), (e3.id, h2.id, "i")):
        cs.set_rating(store, case.id, ev, hyp, r, actor="ana")
    ws = cs.workspace(store, case.id)
    assert ws.ratings[(e3.id, h2.id)] == (Rating.INCONSISTENT, "")
    result = ach.analyze_workspace(ws)
    # H1: 0.25·1.5·2 = 0.75; H2: 1.0 + 1.0 = 2.0
    assert [(h.id, h.weighted) for h in result.hypotheses] == [(h1.id, 0.75), (h2.id, 2.0)]
    assert result.leaders == (h1.id,) and result.margin == pytest.approx(1.25)
    # flipped, the ransom note or the note on exfiltration would favour H2
    assert result.linchpins == (e1.id, e3.id)

    # the analyst doubts the ransom note: overriding its credibility changes the weights
    changed = cs.update_evidence(store, case.id, "E1", actor="bob", credibility=5)
    assert (changed.credibility, changed.credibility_from) == (5, "override")
    result = ach.analyze_workspace(cs.workspace(store, case.id))
    assert result.hypotheses[1].weighted == pytest.approx(1.25)
    back = cs.update_evidence(store, case.id, "E1", actor="bob", credibility=None)
    assert (back.credibility, back.credibility_from) == (1, "document")

    # re-rating the same cell with the same value records nothing
    cs.set_rating(store, case.id, "E1", "H1", "C", actor="ana")
    cs.set_rating(store, case.id, "E1", "H1", None, actor="ana")
    assert (e1.id, h1.id) not in cs.workspace(store, case.id).ratings
    actions = [e.action for e in cs.case_events(store, case.id)]
    assert actions[:3] == ["created", "hypothesis-added", "hypothesis-added"]
    assert actions.count("rated") == 6 and actions[-1] == "rating-cleared"
    assert actions.count("evidence-updated") == 2

    closed = cs.update_case(store, case.id, actor="ana", status="closed")
    assert closed.status == "closed"
    with pytest.raises(InputError, match="closed: reopen it first"):
        cs.set_rating(store, case.id, "E1", "H1", "C", actor="ana")
    cs.update_case(store, case.id, actor="ana", status="open", title="Who hit St Mary's?")
    assert [e.action for e in cs.case_events(store, case.id)][-2:] == ["closed", "reopened"]

    cs.delete_hypothesis(store, case.id, "H2", actor="ana")
    cs.delete_evidence(store, case.id, "E3", actor="ana")
    ws = cs.workspace(store, case.id)
    assert [h.id for h in ws.hypotheses] == [h1.id] and len(ws.evidence) == 2
    assert set(ws.ratings) == {(e2.id, h1.id)}

    cs.delete_case(store, case.id, actor="ana")
    with pytest.raises(InputError, match="no case"):
        cs.get_case(store, case.id)
    for table in ("case_hypotheses", "case_evidence", "case_ratings"):
        assert store.count(table) == 0
    with store.engine.connect() as conn:  # the audit trail outlives the case
        assert conn.execute(sa.select(t.case_events.c.action).order_by(
            t.case_events.c.id.desc()).limit(1)).scalar_one() == "deleted"


def test_claim_credibility_and_ungraded_links(store: SqlStore) -> None:
    case = cs.create_case(store, "Attribution", owner="ana")
    _claim(store, "rel:uses:apt28:x-agent", "", 4, independent=1, event=0)
    _claim(store, "rel:uses:apt28:x-agent", "", 2, independent=3, event=1)
    claim = cs.add_evidence(store, case.id, actor="ana", claim_key="rel:uses:apt28:x-agent",
                            claim_value="")
    assert (claim.credibility, claim.credibility_from) == (2, "claim")
    assert claim.description == "rel:uses:apt28:x-agent"
    unknown = cs.add_evidence(store, case.id, actor="ana", claim_key="rel:uses:nobody:x")
    assert (unknown.credibility, unknown.credibility_from) == (6, "ungraded")
    (doc,) = _docs(store, ("Ungraded report", Marking()))
    linked = cs.add_evidence(store, case.id, actor="ana", document_id=doc)
    assert (linked.credibility, linked.credibility_from) == (6, "ungraded")
    assert [e.label for e in cs.list_evidence(store, case.id)] == ["E1", "E2", "E3"]


def test_markings_are_raised_and_enforced(store: SqlStore) -> None:
    amber, red = _docs(store, ("Partner report", Marking(tlp=TLP.AMBER)),
                       ("Closed-source tip", Marking(tlp=TLP.RED)))
    public = cs.create_case(store, "Public case", owner="ana", marking=Marking(tlp=TLP.GREEN))
    case = cs.create_case(store, "Sensitive case", owner="ana")
    cs.add_evidence(store, case.id, actor="ana", document_id=amber)
    assert cs.get_case(store, case.id).marking.tlp is TLP.AMBER
    listed, total = cs.list_cases(store, audience=GREEN_READER)
    assert [c.id for c in listed] == [public.id] and total == 1
    with pytest.raises(InputError, match="no case"):
        cs.workspace(store, case.id, audience=GREEN_READER)
    with pytest.raises(InputError, match="no case"):
        cs.add_hypothesis(store, case.id, "x", actor="eve", audience=GREEN_READER)
    # a reader cannot link a document they may not see
    with pytest.raises(InputError, match="no document"):
        cs.add_evidence(store, public.id, actor="eve", document_id=red, audience=GREEN_READER)
    # lowering the marking below the linked documents is not possible
    lowered = cs.update_case(store, case.id, actor="ana", marking=Marking(tlp=TLP.CLEAR))
    assert lowered.marking.tlp is TLP.AMBER
    assert [e.action for e in cs.case_events(store, case.id)] == ["created", "marking-raised",
                                                                  "evidence-added"]
    page, total = cs.list_cases(store, limit=1, offset=1)
    assert total == 2 and len(page) == 1


def test_bad_input(store: SqlStore) -> None:
    case = cs.create_case(store, "Case", owner="ana")
    cs.add_hypothesis(store, case.id, "Only one", actor="ana")
    cs.add_evidence(store, case.id, actor="ana", description="A note")
    with pytest.raises(InputError, match="unknown rating"):
        cs.set_rating(store, case.id, "E1", "H1", "maybe", actor="ana")
    with pytest.raises(InputError, match="no hypothesis 'H2'"):
        cs.set_rating(store, case.id, "E1", "H2", "C", actor="ana")
    with pytest.raises(InputError, match="no evidence 'E9'"):
        cs.set_rating(store, case.id, "E9", "H1", "C", actor="ana")
    with pytest.raises(InputError, match="credibility must be 1–6"):
        cs.add_evidence(store, case.id, actor="ana", description="x", credibility=9)
    with pytest.raises(InputError, match="unknown relevance"):
        cs.add_evidence(store, case.id, actor="ana", description="x", relevance="huge")
    with pytest.raises(InputError, match="must not be empty"):
        cs.add_evidence(store, case.id, actor="ana")
    with pytest.raises(InputError, match="must not be empty"):
        cs.create_case(store, "  ", owner="ana")
    with pytest.raises(InputError, match="unknown case status"):
        cs.update_case(store, case.id, actor="ana", status="pending")
    with pytest.raises(InputError, match="say who is acting"):
        cs.add_hypothesis(store, case.id, "x", actor=" ")


def test_the_event_log_keeps_what_a_lowered_case_revealed(store: SqlStore) -> None:
    """Leak 4 of issue 10: a case raised by a TLP:RED document and lowered after the
    document is unlinked keeps its RED-era events from a CLEAR reader."""
    [red] = _docs(store, ("Closed-source tip", Marking(tlp=TLP.RED)))
    case = cs.create_case(store, "Case", owner="ana")
    evidence = cs.add_evidence(store, case.id, actor="ana", document_id=red)
    cs.update_evidence(store, case.id, evidence.id, actor="ana", description="tip, redacted")
    cs.delete_evidence(store, case.id, evidence.id, actor="ana")
    lowered = cs.update_case(store, case.id, actor="ana", marking=Marking())
    assert lowered.marking == Marking()
    cs.add_hypothesis(store, case.id, "Insider", actor="ana")

    everything = cs.case_events(store, case.id)
    assert [e.action for e in everything] == [
        "created", "marking-raised", "evidence-added", "evidence-updated", "evidence-deleted",
        "updated", "hypothesis-added"]
    seen = cs.case_events(store, case.id, audience=Audience(max_tlp=TLP.CLEAR))
    assert [e.action for e in seen] == ["created", "updated", "hypothesis-added"]
    assert red not in repr([e.details for e in seen])
    assert "redacted" not in repr([e.details for e in seen])


def test_evidence_credibility_only_from_grades_the_reader_may_read(store: SqlStore) -> None:
    [doc] = _docs(store, ("Partner report", Marking()))
    _grade(store, doc, 2)
    with store.engine.begin() as conn:  # that grade rests on RED reporting
        conn.execute(t.grades.update().values(tlp=int(TLP.RED)))
    case = cs.create_case(store, "Case", owner="ana")
    cs.add_evidence(store, case.id, actor="ana", document_id=doc)
    [owner] = cs.list_evidence(store, case.id)
    [reader] = cs.list_evidence(store, case.id, audience=Audience(max_tlp=TLP.CLEAR))
    assert (owner.credibility, owner.credibility_from) == (2, "document")
    assert reader.credibility_from == "ungraded"


def test_evidence_credibility_is_the_grade_the_reader_sees(store: SqlStore) -> None:
    """Linked to a CLEAR report graded 1 on RED support, and to its claim (credibility 1 on
    three origins, two of them RED): a CLEAR reader's matrix weighs both at 3, the grade
    they would get from a store holding only what they may read (tests/verify)."""
    from tests.verify.test_audience import CLEAR_READER, hidden_support

    clear, _ = hidden_support(store)
    with store.engine.connect() as conn:
        [key] = conn.execute(sa.select(t.claim_grades.c.key)).scalars().all()
    case = cs.create_case(store, "Case", owner="ana")
    cs.add_evidence(store, case.id, actor="ana", document_id=clear.id)
    cs.add_evidence(store, case.id, actor="ana", claim_key=key)
    owner = cs.list_evidence(store, case.id)
    seen = cs.list_evidence(store, case.id, audience=CLEAR_READER)
    assert [(e.credibility, e.credibility_from) for e in owner] == [(1, "document"),
                                                                   (1, "claim")]
    assert [(e.credibility, e.credibility_from) for e in seen] == [(3, "document"),
                                                                  (3, "claim")]
    ws = cs.workspace(store, case.id, CLEAR_READER)
    assert [e.credibility for e in ws.evidence] == [3, 3]
