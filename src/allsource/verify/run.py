"""``allsource verify``: read every claim from the store, grade claims, sources, documents
and stories, and store the grades with their explanations.

Claims come from three places: relationships with their evidence mentions (collectors'
STIX relationships and the ``relations`` stage), GDELT events and their mentions (one
event, many outlets), and the ``claims`` stage's annotations (quantities, attributions).
Each reporting document becomes a :class:`~allsource.verify.independence.Report` with its
outlet, story, URL, time and the head and tail of its text (enough for datelines, wire
credits and links), read only for claims with more than one report.

The grading is recomputed as a whole (it is a global judgement: one new independent
report can change a claim, every document reporting it and its source's record); on the
demo corpus that is a few seconds. Analysts' reliability overrides are applied last and
explained next to the computed grade.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from allsource.model.admiralty import Credibility, Reliability
from allsource.model.markings import Marking
from allsource.store import schema as t
from allsource.store.sql import chunks, utc_now
from allsource.verify.evidence import relation_markings
from allsource.verify.grading import (
    ClaimGrade,
    ClaimReport,
    SourceRecord,
    grade_claims,
    track_records,
)
from allsource.verify.independence import Report, outlet_of

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

#: relationship types that assert something about the world (structural ATT&CK links such
#: as ``subtechnique-of`` or ``mitigates`` and weak co-occurrence are left out)
CLAIM_RELATIONSHIPS = ("uses", "targets", "attributed-to", "indicates", "exploits",
                       "variant-of", "located-at", "authored-by", "impersonates",
                       "compromises", "originates-from", "delivers", "drops", "downloads",
                       "communicates-with", "beacons-to", "exfiltrates-to", "controls",
                       "hosts", "owns", "has")
TEXT_EDGE = 10_000


@dataclass(slots=True)
class VerifyResult:
    claims: int = 0
    reports: int = 0
    documents: int = 0
    stories: int = 0
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_credibility: dict[int, int] = field(default_factory=dict)
    contradicted: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class _Doc:
    id: str
    source_id: str
    kind: str
    url: str | None
    published_at: datetime | None
    outlet: str
    title: str
    names: tuple[str, ...] = ()
    marking: Marking = field(default_factory=Marking)


def _aware(when: datetime | None) -> datetime | None:
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def source_names(store: SqlStore) -> dict[str, tuple[str, ...]]:
    """Each source's other names (its ``names`` option: a list or comma-separated)."""
    return {src.id: tuple(src.list_option("names")) for src in store.list_sources()}


def _documents(conn: sa.Connection, names: Mapping[str, str],
               aka: dict[str, tuple[str, ...]], ids: Sequence[str] | None = None,
               source_marking: Mapping[str, Marking] | None = None) -> dict[str, _Doc]:
    """Every document (or those of ``ids``) with its outlet, time and marking.

    With ``source_marking``, a document's marking is raised to its source's: a grade
    names the outlet, which for most documents is the source's name, so what rests on a
    document must also be hidden from a reader who may not read its source (a source raised
    to AMBER after its reports were collected as CLEAR). Such a reader is regraded with the
    source unnamed (:mod:`allsource.verify.audience`)."""
    d = t.documents
    out: dict[str, _Doc] = {}
    stmt = sa.select(d.c.id, d.c.source_id, d.c.kind, d.c.url, d.c.published_at,
                     d.c.collected_at, d.c.title, d.c.meta, d.c.tlp, d.c.classification,
                     d.c.compartments, d.c.releasability)
    parts = [stmt] if ids is None else [stmt.where(d.c.id.in_(list(c))) for c in chunks(ids)]
    for part in parts:
        for r in conn.execution_options(yield_per=5000).execute(part):
            meta = r.meta or {}
            fallback = names.get(r.source_id, r.source_id)
            if r.kind == "gdelt-mention":
                outlet = str(meta.get("MentionSourceName") or outlet_of(r.url, fallback))
            elif r.kind == "gdelt-event":
                outlet = outlet_of(r.url, fallback)
            else:
                outlet = fallback
            marking = Marking.from_columns(dict(r._mapping))
            raised = source_marking.get(r.source_id) if source_marking else None
            if raised is not None and raised != marking:
                marking = marking.combine(raised)
            out[r.id] = _Doc(r.id, r.source_id, r.kind, r.url,
                             _aware(r.published_at or r.collected_at), outlet, r.title,
                             aka.get(r.source_id, ()) if outlet == fallback else (),
                             marking)
    return out


def combined(markings: Iterable[Marking]) -> Marking:
    """The most restrictive combination of ``markings`` (each distinct one combined once)."""
    out = Marking()
    for marking in set(markings):
        out = out.combine(marking)
    return out


def _stories(conn: sa.Connection) -> dict[str, str]:
    m = t.story_members
    return {r.document_id: r.story_id for r in conn.execute(
        sa.select(m.c.document_id, m.c.story_id))}


def _relation_claims(conn: sa.Connection) -> list[tuple[str, str, str, str]]:
    """(document_id, key, kind, readable text) for every relationship mention."""
    m, r, o = t.mentions, t.relationships, t.objects
    names: dict[str, str] = {}
    rows = conn.execute(
        sa.select(m.c.document_id, r.c.relationship_type, r.c.source_ref, r.c.target_ref)
        .join(r, r.c.id == m.c.object_id)
        .where(r.c.relationship_type.in_(CLAIM_RELATIONSHIPS))).all()
    refs = sorted({x for row in rows for x in (row.source_ref, row.target_ref)})
    for chunk in chunks(refs):
        for named in conn.execute(sa.select(o.c.id, o.c.name)
                                  .where(o.c.id.in_(list(chunk)))):
            names[named.id] = named.name
    out = []
    for row in rows:
        text = (f"{names.get(row.source_ref, row.source_ref)} {row.relationship_type} "
                f"{names.get(row.target_ref, row.target_ref)}")
        out.append((row.document_id,
                    f"rel:{row.relationship_type}:{row.source_ref}:{row.target_ref}",
                    "relation", text))
    return out


def _event_claims(conn: sa.Connection, docs: dict[str, _Doc]) -> list[tuple[str, str, str, str]]:
    d = t.documents
    titles: dict[str, str] = {}
    found: list[tuple[str, str]] = []
    for row in conn.execution_options(yield_per=5000).execute(
            sa.select(d.c.id, d.c.kind, d.c.meta).where(
                d.c.kind.in_(["gdelt-event", "gdelt-mention"]))):
        event = (row.meta or {}).get("GLOBALEVENTID")
        if event is None:
            continue
        found.append((row.id, str(event)))
        if row.kind == "gdelt-event":
            titles[str(event)] = docs[row.id].title
    return [(doc_id, f"event:gdelt:{event}", "event",
             titles.get(event, f"GDELT event {event}")) for doc_id, event in found]


def _text_claims(conn: sa.Connection) -> list[tuple[str, str, str, str, str]]:
    a = t.stage_annotations
    out = []
    for r in conn.execution_options(yield_per=2000).execute(
            sa.select(a.c.document_id, a.c.data).where(a.c.stage == "claims")):
        for c in (r.data or {}).get("claims", []):
            out.append((r.document_id, c["key"], c["kind"], c["text"], str(c["value"])))
    return out


def _texts(conn: sa.Connection, ids: list[str]) -> dict[str, str]:
    d = t.documents
    out: dict[str, str] = {}
    for chunk in chunks(ids):
        for r in conn.execute(sa.select(d.c.id, d.c.title, d.c.text)
                              .where(d.c.id.in_(list(chunk)))):
            full = f"{r.title}\n{r.text}"
            out[r.id] = full if len(full) <= 2 * TEXT_EDGE else (
                full[:TEXT_EDGE] + "\n…\n" + full[-TEXT_EDGE:])
    return out


def active_overrides(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    o = t.reliability_overrides
    out: dict[str, dict[str, Any]] = {}
    for r in conn.execute(sa.select(o).where(o.c.active.is_(True)).order_by(o.c.id)):
        out[r.source_id] = {"reliability": r.reliability, "analyst": r.analyst,
                            "reason": r.reason, "at": r.created_at.isoformat()}
    return out


def effective_reliability(record: SourceRecord, override: dict[str, Any] | None
                          ) -> tuple[Reliability, dict[str, Any]]:
    """A source's reliability from its track record, with an analyst's active override (if
    any) applied, and the explanation that says both."""
    computed, _ = record.reliability()
    explanation = record.explanation()
    effective = computed
    if override is not None:
        explanation["override"] = override
        if override["reliability"]:
            effective = Reliability.parse(override["reliability"])
    explanation["effective"] = effective.value
    return effective, explanation


def verify_store(store: SqlStore, progress: Callable[[str], None] | None = None
                 ) -> VerifyResult:
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    result = VerifyResult()
    listed = store.list_sources()
    sources = {s.id: s.name for s in listed}
    with store.engine.connect() as conn:
        say("reading documents")
        docs = _documents(conn, sources, source_names(store),
                          source_marking={s.id: s.marking for s in listed})
        story_of = _stories(conn)
        say("reading claims")
        raw: list[tuple[str, str, str, str, str]] = [
            (doc, key, kind, text, "") for doc, key, kind, text in _relation_claims(conn)]
        raw += [(doc, key, kind, text, "") for doc, key, kind, text in
                _event_claims(conn, docs)]
        raw += _text_claims(conn)
        raw = [c for c in raw if c[0] in docs]
        reports_per_key: dict[str, set[str]] = defaultdict(set)
        for doc, key, *_ in raw:
            reports_per_key[key].add(doc)
        need_text = sorted({d for ds in reports_per_key.values() if len(ds) > 1 for d in ds})
        say(f"reading {len(need_text)} texts for independence checks")
        texts = _texts(conn, need_text)
        overrides = active_overrides(conn)
        # a relationship claim's report also rests on its mention and its ends' evidence
        # (allsource.verify.evidence), so a grade never shows a claim a reader may not see
        relation_marks = relation_markings(conn, CLAIM_RELATIONSHIPS)

    def report(doc_id: str) -> Report:
        doc = docs[doc_id]
        return Report(doc_id, doc.outlet, doc.source_id, story_of.get(doc_id), doc.url,
                      doc.published_at, texts.get(doc_id, ""), doc.names)

    items = [ClaimReport(key, value, kind, text, report(doc))
             for doc, key, kind, text, value in raw]
    # what each figure rests on: a claim's grade on every report of its key (origins and
    # contradictions are judged over all of them), a source's on the claims it reports
    # (and on the members of their stories: copies are judged by story, and a story can
    # join two reports through a document only some readers may read)
    story_docs: dict[str, list[str]] = defaultdict(list)
    for doc_id, story in story_of.items():
        story_docs[story].append(doc_id)
    story_marking = {story: combined(docs[d].marking for d in members if d in docs)
                     for story, members in story_docs.items()}
    key_marking = {key: combined([*(docs[d].marking for d in ds),
                                  *(story_marking[story_of[d]] for d in ds if d in story_of),
                                  *(relation_marks[(d, key)] for d in ds
                                    if (d, key) in relation_marks)])
                   for key, ds in reports_per_key.items()}
    source_keys: dict[str, set[str]] = defaultdict(set)
    for doc, key, *_ in raw:
        source_keys[docs[doc].source_id].add(key)
    source_marking = {sid: combined(key_marking[k] for k in keys)
                      for sid, keys in source_keys.items()}
    say(f"grading {len(reports_per_key)} claims from {len(items)} reports")
    grades = grade_claims(items)
    records = track_records(grades, sources)
    reliability: dict[str, Reliability] = {}
    source_rows = []
    for sid, rec in records.items():
        effective, explanation = effective_reliability(rec, overrides.get(sid))
        reliability[sid] = effective
        source_rows.append(("source", sid, effective.value, None, int(rec.confirmations),
                            explanation, source_marking.get(sid, Marking())))
        result.sources[rec.name] = explanation

    # per document and story: the claims they carry
    doc_claims: dict[str, list[tuple[int, ClaimGrade]]] = defaultdict(list)
    for index, g in enumerate(grades):
        for doc_id in g.asserting:
            doc_claims[doc_id].append((index, g))
    subject_rows = []
    for doc_id, pairs in doc_claims.items():
        subject_rows.append((*_subject_row("document", doc_id, [g for _, g in pairs],
                                           reliability.get(docs[doc_id].source_id,
                                                           Reliability.F)),
                             combined([docs[doc_id].marking,
                                       source_marking.get(docs[doc_id].source_id, Marking()),
                                       *(key_marking[g.key] for _, g in pairs)])))
    for story, members in story_docs.items():
        held = {i: g for d in members for i, g in doc_claims.get(d, [])}
        if not held:
            continue
        best_source = min((reliability.get(docs[d].source_id, Reliability.F) for d in members
                           if d in docs), key=lambda r: r.rank, default=Reliability.F)
        subject_rows.append((*_subject_row("story", story, list(held.values()), best_source,
                                           members),
                             combined([*(docs[d].marking for d in members if d in docs),
                                       *(source_marking.get(docs[d].source_id, Marking())
                                         for d in members if d in docs),
                                       *(key_marking[g.key] for g in held.values())])))
    now = utc_now()
    say("writing grades")
    with store.engine.begin() as conn:
        for table in (t.claim_grades, t.claim_documents, t.grades):
            conn.execute(table.delete())
        event_no: dict[str, int] = defaultdict(int)
        claim_rows, link_rows = [], []
        for g in grades:
            event = event_no[f"{g.key}\x00{g.value}"]
            event_no[f"{g.key}\x00{g.value}"] += 1
            claim_rows.append({"key": g.key[:300], "value": g.value[:200], "event": event,
                               "kind": g.kind, "text": g.text, "credibility": int(g.credibility),
                               "independent": g.independent,
                               "reports": sum(len(o.reports) for o in g.supporting),
                               "contradicted": bool(g.contradicting),
                               "explanation": g.explanation(), "computed_at": now,
                               **key_marking.get(g.key, Marking()).to_columns()})
            for doc_id in sorted(g.asserting):
                link_rows.append({"document_id": doc_id, "key": g.key[:300],
                                  "value": g.value[:200], "event": event})
        link_rows = list({(r["document_id"], r["key"], r["value"]): r
                          for r in link_rows}.values())
        if claim_rows:
            store._bulk_insert(conn, t.claim_grades, claim_rows)
        if link_rows:
            store._bulk_insert(conn, t.claim_documents, link_rows)
        rows = [{"subject_type": st, "subject_id": sid, "reliability": rel,
                 "credibility": cred, "corroboration": corr, "explanation": expl,
                 "computed_at": now, **marking.to_columns()}
                for st, sid, rel, cred, corr, expl, marking in [*source_rows, *subject_rows]]
        if rows:
            store._bulk_insert(conn, t.grades, rows)
    result.claims = len(grades)
    result.reports = len(items)
    result.documents = sum(1 for r in subject_rows if r[0] == "document")
    result.stories = sum(1 for r in subject_rows if r[0] == "story")
    for g in grades:
        result.by_credibility[int(g.credibility)] = result.by_credibility.get(
            int(g.credibility), 0) + 1
    result.contradicted = sum(1 for g in grades if g.contradicting)
    result.seconds = time.perf_counter() - started
    return result


def _subject_row(kind: str, subject: str, held: list[ClaimGrade], reliability: Reliability,
                 members: list[str] | None = None
                 ) -> tuple[str, str, str, int, int, dict[str, Any]]:
    """A document's or story's grade: its source's reliability and the credibility of what
    it reports — the best-supported claim, unless one of its claims is contradicted, which
    then decides (an analyst must look at it)."""
    contradicted = [g for g in held if g.contradicting]
    cred = subject_credibility(held)
    best = max(held, key=lambda g: g.independent)
    explanation: dict[str, Any] = {
        "grade": f"{reliability.value}{int(cred)}", "credibility_meaning": cred.meaning,
        "reliability_meaning": reliability.meaning,
        "rule": ("contradicted claim decides" if contradicted
                 else "best-supported claim decides"),
        "independent_corroboration": best.independent - 1,
        "claims": [g.explanation() for g in sorted(
            held, key=lambda g: (g.credibility, -g.independent))[:25]]}
    if members is not None:
        explanation["documents"] = members[:200]
    return (kind, subject, reliability.value, int(cred), best.independent - 1, explanation)


def subject_credibility(held: Sequence[ClaimGrade]) -> Credibility:
    """A document's or story's credibility from its claims' grades alone (never from a
    source's reliability): the most doubtful contradicted claim when one is contradicted,
    else the best-supported claim's; 6 (cannot be judged) without claims."""
    contradicted = [g.credibility for g in held if g.contradicting]
    if contradicted:
        return max(contradicted)
    return min((g.credibility for g in held), default=Credibility.CANNOT_BE_JUDGED)


def get_grade(store: SqlStore, subject_type: str, subject_id: str) -> dict[str, Any] | None:
    g = t.grades
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(g).where(g.c.subject_type == subject_type,
                                              g.c.subject_id == subject_id)).first()
    return dict(row._mapping) if row else None


def set_override(store: SqlStore, source_id: str, reliability: Reliability | None,
                 analyst: str, reason: str) -> None:
    """Record an analyst's reliability grade for a source (None: back to the computed
    grade). Earlier overrides stay on record, inactive."""
    o = t.reliability_overrides
    with store.engine.begin() as conn:
        conn.execute(o.update().where(o.c.source_id == source_id).values(active=False))
        conn.execute(o.insert().values(source_id=source_id,
                                       reliability=reliability.value if reliability else None,
                                       analyst=analyst, reason=reason, created_at=utc_now(),
                                       active=True))


def override_history(store: SqlStore, source_id: str) -> list[dict[str, Any]]:
    o = t.reliability_overrides
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            sa.select(o).where(o.c.source_id == source_id).order_by(o.c.id))]
