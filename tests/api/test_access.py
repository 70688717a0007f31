"""No read-up through any route: for generated users (role, TLP ceiling, clearance,
compartments, groups) and generated objects (documents, sources, entities, observables,
relationships, stories, alerts, cases, watchlists with random markings), every API GET route
and workspace page answers — items, totals, counts and status codes — exactly as
:func:`~allsource.model.markings.can_release` says, on SQLite and PostgreSQL.

The oracle reads the store as its owner (every row with its marking) and applies
``can_release`` in Python; the app must agree while filtering in SQL. Each hypothesis example
adds its own objects (named by a fresh keyword, so searches and name filters pick them out)
to one store, so routes over whole tables (``/alerts``, ``/cases``, ``/sources`` …) are checked
against everything the earlier examples left too. Bodies are also scanned for the id of
anything the user may not read: none may appear anywhere.

Regression tests for leak item 3 of issue 10 ("counts are oracles") follow.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from allsource.api import create_app
from allsource.assess.alerts import AlertDraft, Severity, raise_alerts
from allsource.assess.risk_run import score_store
from allsource.assess.watchlists import save_watchlist
from allsource.config import Settings
from allsource.model.markings import TLP, Audience, Classification, Marking, can_release
from allsource.model.records import Collected, Document, Source
from allsource.store import cases, users
from allsource.store import schema as t
from allsource.store.sql import SqlStore, utc_now
from allsource.verify.run import verify_store

API = "/api/v1"
NAMES = ("ab", "abc", "AB", "g_1")

tlps = st.sampled_from(list(TLP))
levels = st.sampled_from(list(Classification))
names = st.frozensets(st.sampled_from(NAMES), max_size=3)
# markings lean towards releasable ones, so that pages have something to show
markings = st.one_of(
    st.just(Marking()),
    st.builds(Marking, tlp=tlps, classification=levels, compartments=names,
              releasability=names))


@dataclass(frozen=True)
class Rights:
    role: str
    max_tlp: TLP
    clearance: Classification
    compartments: frozenset[str]
    groups: frozenset[str]


rights = st.builds(Rights, role=st.sampled_from(["reader", "partner", "analyst"]),
                   max_tlp=tlps, clearance=levels, compartments=names, groups=names)


@dataclass
class Example:
    """What one hypothesis example added."""

    word: str
    source: str
    docs: list[str] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)
    observables: list[str] = field(default_factory=list)
    relationships: list[str] = field(default_factory=list)
    story: str = ""


def _entity_id() -> str:
    return f"intrusion-set--{uuid.uuid4()}"


def add_example(store: SqlStore, word: str, source_marking: Marking,
                doc_marks: list[Marking], obj_marks: list[Marking], rel_marks: list[Marking],
                other_marks: list[Marking]) -> Example:
    """Documents of one source, an entity mentioned by each, relationships between them, a
    story of all the documents, and an alert, a case and a watchlist."""
    ex = Example(word=word, source=f"src-{word}")
    source = Source(ex.source, "files", "/dev/null", marking=source_marking)
    store.add_source(source)
    docs = [Document.build(kind="report", title=f"{word} report {i}",
                           text=f"Report {i} about {word} and phishing.", marking=m,
                           url=f"https://outlet{i}-{word}.example/report",
                           published_at=datetime(2024, 1, 2 + i, tzinfo=UTC))
            for i, m in enumerate(doc_marks)]
    store.write_batch(source, [Collected(d) for d in docs], [], None)
    ex.docs = [d.id for d in docs]
    now = utc_now()
    with store.engine.begin() as conn:
        for i, (doc, mark) in enumerate(zip(docs, obj_marks, strict=True)):
            oid = _entity_id()
            ex.objects.append(oid)
            conn.execute(t.objects.insert().values(
                id=oid, type="intrusion-set", name=f"{word} actor {i}", created_at=now,
                stix={"type": "intrusion-set", "id": oid, "name": f"{word} actor {i}"},
                **mark.to_columns()))
            # a mention carries the object as this document proposed it, within the
            # document's marking (as the store's add_rows writes it)
            conn.execute(t.mentions.insert().values(object_id=oid, document_id=doc.id,
                                                    extractor="test", span_start=-1,
                                                    span_end=-1,
                                                    **mark.combine(doc.marking).to_columns()))
            # an observable in the document, marked as the entity of the next document
            domain = f"{word}-{i}.example"
            did = f"domain-name--{uuid.uuid4()}"
            ex.observables.append(did)
            conn.execute(t.objects.insert().values(
                id=did, type="domain-name", name=domain, created_at=now,
                stix={"type": "domain-name", "id": did, "value": domain},
                **obj_marks[(i + 1) % len(obj_marks)].to_columns()))
            seen_as = obj_marks[(i + 1) % len(obj_marks)].combine(doc.marking)
            conn.execute(t.mentions.insert().values(object_id=did, document_id=doc.id,
                                                    extractor="test", span_start=-1,
                                                    span_end=-1, **seen_as.to_columns()))
        for i, mark in enumerate(rel_marks):
            rid = f"relationship--{uuid.uuid4()}"
            src, dst = ex.objects[i], ex.objects[(i + 1) % len(ex.objects)]
            ex.relationships.append(rid)
            conn.execute(t.relationships.insert().values(
                id=rid, relationship_type="uses", source_ref=src, target_ref=dst,
                created_at=now, stix={"type": "relationship", "id": rid},
                **mark.to_columns()))
            # every document reports it (as the relations stage writes): a claim that
            # ``allsource verify`` grades over all of them, whatever their markings
            for doc in docs:
                conn.execute(t.mentions.insert().values(
                    object_id=rid, document_id=doc.id, extractor="test", span_start=-1,
                    span_end=-1, **mark.combine(doc.marking).to_columns()))
        ex.story = docs[0].id  # a story is named by its first document, as dedup names it
        conn.execute(t.stories.insert().values(id=ex.story, canonical_document_id=docs[0].id,
                                               created_at=now))
        for doc in docs:
            conn.execute(t.story_members.insert().values(
                story_id=ex.story, document_id=doc.id, similarity=1.0,
                matched_id=docs[0].id, added_at=now))
    alert_mark, case_mark, watch_mark = other_marks
    raise_alerts(store, [AlertDraft(kind="watchlist", severity=Severity.HIGH,
                                    title=f"{word} alert", group_key=f"g:{word}",
                                    marking=alert_mark)])
    cases.create_case(store, f"{word} case", owner="ana", marking=case_mark)
    save_watchlist(store, f"wl-{word}", marking=watch_mark)
    return ex


# --- the oracle ------------------------------------------------------------------------------

def all_marks(store: SqlStore, table: sa.Table) -> dict[str, Marking]:
    """Every row's id → marking, read as the owner."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, table.c.tlp, table.c.classification,
                                      table.c.compartments, table.c.releasability)).all()
    return {r.id: Marking.from_columns(dict(r._mapping)) for r in rows}


@dataclass
class Oracle:
    audience: Audience
    marks: dict[str, Marking]  # every id in the store → its marking
    #: a mentioned object's evidence: (mention's marking, its document's marking) pairs
    evidence: dict[str, list[tuple[Marking, Marking]]] = field(default_factory=dict)

    def ok(self, object_id: str) -> bool:
        """The rule: a document, alert or case by its own marking; an object through one
        mention the reader may read in a document they may read, or by its own marking when
        nothing mentions it (allsource.store.derived)."""
        if object_id in self.evidence:
            return any(can_release(m, self.audience) and can_release(d, self.audience)
                       for m, d in self.evidence[object_id])
        return can_release(self.marks[object_id], self.audience)

    def readable(self, ids: list[str]) -> set[str]:
        return {i for i in ids if self.ok(i)}

    def hidden(self) -> set[str]:
        return {i for i in self.marks if not self.ok(i)}


def oracle(store: SqlStore, audience: Audience) -> Oracle:
    marks: dict[str, Marking] = {}
    for table in (t.documents, t.objects, t.relationships, t.alerts, t.cases):
        marks.update(all_marks(store, table))
    evidence: dict[str, list[tuple[Marking, Marking]]] = {}
    m, _d = t.mentions, t.documents
    with store.engine.connect() as conn:
        for r in conn.execute(sa.select(m.c.object_id, m.c.tlp, m.c.classification,
                                        m.c.compartments, m.c.releasability, m.c.document_id)):
            evidence.setdefault(r.object_id, []).append(
                (Marking.from_columns(dict(r._mapping)), marks[r.document_id]))
    return Oracle(audience, marks, evidence)


#: a story's canonical and matched document ids are leak item 2 of issue 10 (stories), fixed
#: by the derived-views work, not by the read filter: left out of the scan here
_STORY_REFS = re.compile(r'"(canonical_document_id|matched_id)":\s*"[^"]*"')


def no_hidden_ids(body: str, hidden: set[str], where: str) -> None:
    """No id of anything the reader may not read appears in ``body`` (except one the request
    itself named, ``where``: "no document 'x'" tells the caller nothing new)."""
    body = _STORY_REFS.sub("", body)
    found = set(re.findall(r"[a-z0-9-]+--[0-9a-f-]{36}", body)) & hidden
    found = {i for i in found if i not in where}
    assert not found, f"{where} shows hidden ids {sorted(found)[:3]}"


# --- fixtures ----------------------------------------------------------------------------------

@pytest.fixture
def client(store: SqlStore, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, store=store)) as c:
        yield c


def new_user(store: SqlStore, r: Rights) -> tuple[users.User, dict[str, str], str]:
    user = users.add_user(store, f"u-{uuid.uuid4().hex[:10]}", r.role, max_tlp=r.max_tlp,
                          clearance=r.clearance, compartments=r.compartments,
                          groups=r.groups)
    _, token = users.create_token(store, user)
    return user, {"Authorization": f"Bearer {token}"}, token


def web_login(client: TestClient, token: str) -> None:
    r = client.post("/login", data={"token": token, "next": "/search"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


# --- the checks --------------------------------------------------------------------------------

class Api:
    """GETs as one user, each body scanned for hidden ids."""

    def __init__(self, client: TestClient, headers: dict[str, str], o: Oracle) -> None:
        self.client, self.headers, self.o = client, headers, o
        self.hidden = o.hidden()

    def get(self, path: str, **params: Any) -> httpx.Response:
        r = self.client.get(API + path, params=params, headers=self.headers)
        assert r.status_code < 500, (path, r.text)
        no_hidden_ids(r.text, self.hidden, str(r.request.url))
        return r

    def ok(self, path: str, **params: Any) -> Any:
        r = self.get(path, **params)
        assert r.status_code == 200, (path, r.text)
        return r.json()

    def status(self, path: str, allowed: bool) -> None:
        assert self.get(path).status_code == (200 if allowed else 404), path

    def same_as_missing(self, path: str, name: str, **params: Any) -> None:
        """``name`` (hidden) gets the very answer a name that does not exist gets."""
        hidden = self.get(path, **params)
        missing = self.get(path.replace(name, f"nosuch-{name}"),
                           **{k: (f"nosuch-{v}" if v == name else v)
                              for k, v in params.items()})
        assert hidden.status_code == missing.status_code != 200, path
        a, b = hidden.text.replace(name, "X"), missing.text.replace(f"nosuch-{name}", "X")
        assert a == b, (path, a, b)


def check_api(api: Api, store: SqlStore, ex: Example, audience: Audience) -> None:
    o = api.o
    docs = o.readable(ex.docs)
    source_ok = can_release(store.get_source(ex.source).marking, audience)  # type: ignore[union-attr]

    # documents: list, total, filters by source (hidden = missing), one by one
    everything = api.ok("/documents", limit=500)
    assert everything["total"] == len(o.readable(list(all_marks(store, t.documents))))
    if source_ok:
        page = api.ok("/documents", source=ex.source)
        assert {d["id"] for d in page["items"]} == docs and page["total"] == len(docs)
        one = api.ok(f"/sources/{ex.source}")
        assert one["documents"] == len(docs)
    else:
        api.same_as_missing("/documents", ex.source, source=ex.source)
        api.same_as_missing(f"/sources/{ex.source}", ex.source)
    for doc in ex.docs:
        api.status(f"/documents/{doc}", doc in docs)
    sources = {s.name for s in store.list_sources() if can_release(s.marking, audience)}
    assert {s["name"] for s in api.ok("/sources", limit=500)["items"]} == sources

    # search: hits, total_hits, facets; by source (hidden = missing)
    for params in ({"q": ex.word}, {"q": ex.word, "source": ex.source}):
        if "source" in params and not source_ok:
            api.same_as_missing("/search", ex.source, **params)
            continue
        found = api.ok("/search", **params)
        hits = {v["id"] for g in found["items"] for v in g["variants"]}
        assert hits == docs and found["total_hits"] == len(docs), params
        assert sum(found["facets"]["source"].values()) == len(docs)

    # entities, relationships, graph
    objs = o.readable(ex.objects)
    page = api.ok("/entities", name=ex.word)
    assert {x["id"] for x in page["items"]} == objs and page["total"] == len(objs)
    for oid in ex.objects:
        api.status(f"/entities/{oid}", oid in objs)
        api.status(f"/graph/{oid}", oid in objs)
    observed = o.readable(ex.observables)
    page = api.ok("/observables", value=ex.word)
    assert {x["id"] for x in page["items"]} == observed and page["total"] == len(observed)
    for did in ex.observables:
        api.status(f"/observables/{did}", did in observed)
    api.ok("/map/basemap")
    # a relationship shows when it and both its ends are readable
    n = len(ex.objects)
    ends = {rid: (ex.objects[i], ex.objects[(i + 1) % n])
            for i, rid in enumerate(ex.relationships)}
    rels = {rid for rid in o.readable(ex.relationships) if all(map(o.ok, ends[rid]))}
    first = ex.objects[0]
    touching = {rid for rid in rels if first in ends[rid]}
    page = api.ok("/relationships", object=first)
    assert {x["id"] for x in page["items"]} == touching and page["total"] == len(touching)
    for rid in ex.relationships:
        api.status(f"/relationships/{rid}", rid in rels)

    # stories: named by their first readable member, answered only with one, members all
    # readable; a hidden founder's id is no story id for this reader
    ordered = [d for d in ex.docs if d in docs]
    story = api.get(f"/stories/{ordered[0] if ordered else ex.story}")
    assert story.status_code == (200 if docs else 404)
    if docs:
        assert {m["document_id"] for m in story.json()["members"]} == docs
        if ordered[0] != ex.story:
            assert api.get(f"/stories/{ex.story}").status_code == 404
    listed = api.ok("/stories", limit=500)
    assert listed["total"] == len(listed["items"])
    members = _story_members(store)
    stored = {doc: sid for sid, docs_of in members.items() for doc in docs_of}
    for s in listed["items"]:
        assert o.readable(members[stored[s["id"]]]), s["id"]

    # alerts, cases, watchlists: whole tables
    alerts = o.readable(list(all_marks(store, t.alerts)))
    page = api.ok("/alerts", status="all", limit=500)
    assert {a["id"] for a in page["items"]} == alerts and page["total"] == len(alerts)
    for aid in all_marks(store, t.alerts):
        api.status(f"/alerts/{aid}", aid in alerts)
    case_ids = o.readable(list(all_marks(store, t.cases)))
    page = api.ok("/cases", limit=500)
    assert {c["id"] for c in page["items"]} == case_ids and page["total"] == len(case_ids)
    for cid in all_marks(store, t.cases):
        for tail in ("", "/events", "/matrix"):
            api.status(f"/cases/{cid}{tail}", cid in case_ids)
    lists = {n: m for n, m in _watchlists(store).items()}
    seen = {w["name"] for w in api.ok("/watchlists", limit=500)["items"]}
    assert seen == {n for n, m in lists.items() if can_release(m, audience)}
    api.status(f"/watchlists/wl-{ex.word}", can_release(lists[f"wl-{ex.word}"], audience))

    # timeline and map: totals by source (hidden = missing) and by entity
    if source_ok:
        assert api.ok("/timeline", source=ex.source, interval="month")["total"] == len(docs)
        bucket = api.ok("/timeline/documents", source=ex.source, start="2024-01-01",
                        interval="month")
        assert bucket["total"] == len(docs)
        assert {d["id"] for d in bucket["items"]} == docs
        api.ok("/map", source=ex.source)
    else:
        api.same_as_missing("/timeline", ex.source, source=ex.source)
        api.same_as_missing("/map", ex.source, source=ex.source)
    for doc, oid in zip(ex.docs, ex.objects, strict=True):
        want = 1 if doc in docs and oid in objs else 0
        assert api.ok("/timeline", entity_id=oid)["total"] == want


def check_grades_and_risk(api: Api, store: SqlStore, ex: Example) -> None:
    """Lists and filters of grades, and risk, as the reader sees them: a document's grade
    in the timeline's and the graph's ``min_credibility`` filters is its grade in the
    reader's single-document view (computed from what they may read), never "ungraded"
    because the stored one rests on something hidden, never the stored figure; every
    entity they may read has a risk score (from the evidence they may read)."""
    o, audience = api.o, api.o.audience
    docs = [d for d in ex.docs if o.ok(d)]
    cred: dict[str, int | None] = {}
    for doc in docs:
        grade = api.ok(f"/documents/{doc}")["grade"]
        cred[doc] = grade["credibility"] if grade else None

    def passes(doc: str, c: int) -> bool:
        found = cred.get(doc)
        return found is not None and found <= c

    source_ok = can_release(store.get_source(ex.source).marking, audience)  # type: ignore[union-attr]
    n = len(ex.objects)
    ends = {rid: (ex.objects[i], ex.objects[(i + 1) % n])
            for i, rid in enumerate(ex.relationships)}
    first = ex.objects[0]
    for c in range(1, 7):
        if source_ok:
            bucket = api.ok("/timeline/documents", source=ex.source, start="2024-01-01",
                            interval="month", min_credibility=c)
            assert {d["id"] for d in bucket["items"]} == {d for d in docs if passes(d, c)}, c
        if o.ok(first):
            # a relationship shows when readable (with both ends) and a document the
            # reader may read reports it, through a mention they may read, graded ≤ c
            want = {ends[rid] for rid in ex.relationships
                    if o.ok(rid) and all(map(o.ok, ends[rid])) and first in ends[rid]
                    and ends[rid][0] != ends[rid][1]
                    and any(passes(d, c) and can_release(o.marks[rid].combine(o.marks[d]),
                                                         audience) for d in docs)}
            view = api.ok(f"/graph/{first}", min_credibility=c)
            assert {(e["source"], e["target"]) for e in view["edges"]} == want, c
    for oid in ex.objects:
        if o.ok(oid):
            assert api.ok(f"/entities/{oid}")["risk"] is not None, oid
    for item in api.ok("/entities", name=ex.word)["items"]:
        assert item["risk"] is not None, item["id"]


def _story_members(store: SqlStore) -> dict[str, list[str]]:
    m = t.story_members
    out: dict[str, list[str]] = {}
    with store.engine.connect() as conn:
        for story, doc in conn.execute(sa.select(m.c.story_id, m.c.document_id)):
            out.setdefault(story, []).append(doc)
    return out


def _watchlists(store: SqlStore) -> dict[str, Marking]:
    w = t.watchlists
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(w.c.name, w.c.tlp, w.c.classification,
                                      w.c.compartments, w.c.releasability)).all()
    return {r.name: Marking.from_columns(dict(r._mapping)) for r in rows}


def check_web(client: TestClient, token: str, store: SqlStore, ex: Example,
              o: Oracle) -> None:
    web_login(client, token)
    hidden = o.hidden()
    docs = o.readable(ex.docs)
    source_ok = can_release(store.get_source(ex.source).marking, o.audience)  # type: ignore[union-attr]

    def get(path: str, **params: Any) -> httpx.Response:
        r = client.get(path, params=params, follow_redirects=False)
        assert r.status_code < 500, (path, r.text)
        no_hidden_ids(r.text, hidden, str(r.request.url))
        return r

    def same_as_missing(path: str, **params: Any) -> None:
        a = get(path, **params).text.replace(ex.source, "X")
        b = get(path, **{k: (f"nosuch-{v}" if v == ex.source else v)
                         for k, v in params.items()}).text.replace(f"nosuch-{ex.source}", "X")
        assert a == b, path

    page = get("/search", q=ex.word)
    assert f"{len(docs)} matching documents" in page.text
    if source_ok:
        assert f"{len(docs)} matching documents" in get("/search", q=ex.word,
                                                        source=ex.source).text
        assert f"{len(docs)} document(s)" in get("/timeline", source=ex.source).text
        assert get("/map/data", source=ex.source).status_code == 200
    else:
        same_as_missing("/search", q=ex.word, source=ex.source)
        same_as_missing("/timeline", source=ex.source)
        same_as_missing("/map/data", source=ex.source)
    for doc in ex.docs:
        assert get(f"/documents/{doc}").status_code == (200 if doc in docs else 404)
    for oid in ex.objects + ex.observables:
        want = 200 if o.ok(oid) else 404
        assert get(f"/objects/{oid}").status_code == want
        assert get(f"/graph/{oid}").status_code == want
        assert get(f"/graph/{oid}/data").status_code == want
    for path in ("/alerts?status=all", "/cases", "/watchlists", "/timeline", "/map"):
        assert get(path).status_code == 200
    for cid in all_marks(store, t.cases):
        assert get(f"/cases/{cid}").status_code == (200 if o.ok(cid) else 404)
    n = len(ex.objects)
    for i, rid in enumerate(ex.relationships):
        ends = (ex.objects[i], ex.objects[(i + 1) % n])
        want = 200 if o.ok(rid) and all(map(o.ok, ends)) else 404
        assert get(f"/objects/{rid}").status_code == want
    shown = get("/watchlists").text
    for name, mark in _watchlists(store).items():
        assert (f">{name}<" in shown) == can_release(mark, o.audience), name


def run_example(store: SqlStore, client: TestClient, r: Rights, source_mark: Marking,
                doc_marks: list[Marking], obj_marks: list[Marking], rel_marks: list[Marking],
                other_marks: list[Marking]) -> None:
    word = "kw" + uuid.uuid4().hex[:10]
    ex = add_example(store, word, source_mark, doc_marks, obj_marks, rel_marks, other_marks)
    # grades and risk over everything, as ``allsource verify`` and ``risk score`` store them
    verify_store(store)
    score_store(store, client.app.state.settings)  # type: ignore[attr-defined]
    user, headers, token = new_user(store, r)
    o = oracle(store, user.audience)
    api = Api(client, headers, o)
    check_api(api, store, ex, user.audience)
    check_grades_and_risk(api, store, ex)
    check_web(client, token, store, ex, o)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[Any, ...]:
    n = draw(st.integers(min_value=1, max_value=4))
    return (draw(rights), draw(markings), draw(st.lists(markings, min_size=n, max_size=n)),
            draw(st.lists(markings, min_size=n, max_size=n)),
            draw(st.lists(markings, min_size=1, max_size=n)),
            draw(st.lists(markings, min_size=3, max_size=3)))


_HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
#: an example makes ~100 requests: shrinking one would take minutes, and the failing
#: example is printed as generated
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate]


@settings(max_examples=6, deadline=None, suppress_health_check=_HEALTH, phases=_PHASES)
@given(world=worlds())
def test_every_route_follows_can_release(store: SqlStore, client: TestClient,
                                         world: tuple[Any, ...]) -> None:
    run_example(store, client, *world)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=_HEALTH, phases=_PHASES)
@given(world=worlds())
def test_every_route_follows_can_release_many(store: SqlStore, client: TestClient,
                                              world: tuple[Any, ...]) -> None:
    run_example(store, client, *world)


# --- leak item 3 of issue 10: counts are oracles (regressions) ---------------------------------

SECRET_PHRASE = "operation nightjar"


@pytest.fixture
def leaky(store: SqlStore, client: TestClient) -> dict[str, Any]:
    """A TLP:CLEAR document in compartment ORCON, one released only to NATO, one plain, and a
    source the reader may not read (its own marking names a compartment); a reader cleared for
    everything but those compartments and groups."""
    shown = Source("open-desk", "files", "/dev/null")
    hidden = Source("hidden-desk", "files", "/dev/null",
                    marking=Marking(compartments=frozenset({"ORCON"})))
    store.add_source(shown)
    store.add_source(hidden)
    plain = Document.build(kind="report", title="plain", text=f"About {SECRET_PHRASE}.")
    compartmented = Document.build(kind="report", title="orcon",
                                   text=f"More on {SECRET_PHRASE} and its sponsor.",
                                   marking=Marking(compartments=frozenset({"ORCON"})))
    released = Document.build(kind="report", title="nato",
                              text=f"{SECRET_PHRASE}: partners only.",
                              marking=Marking(releasability=frozenset({"NATO"})))
    store.write_batch(shown, [Collected(plain), Collected(compartmented), Collected(released)],
                      [], None)
    from_hidden = Document.build(kind="report", title="h", text=f"{SECRET_PHRASE} again.",
                                 marking=Marking(compartments=frozenset({"ORCON"})))
    store.write_batch(hidden, [Collected(from_hidden)], [], None)
    now = utc_now()
    with store.engine.begin() as conn:
        for i, doc in enumerate((plain, compartmented, released)):
            oid = _entity_id()
            conn.execute(t.objects.insert().values(
                id=oid, type="intrusion-set", name=f"nightjar group {i}", created_at=now,
                stix={"type": "intrusion-set", "id": oid}, **doc.marking.to_columns()))
            conn.execute(t.stories.insert().values(id=f"story-{i}",
                                                   canonical_document_id=doc.id,
                                                   created_at=now))
            conn.execute(t.story_members.insert().values(
                story_id=f"story-{i}", document_id=doc.id, similarity=1.0, matched_id=None,
                added_at=now))
    reader = Rights("reader", TLP.RED, Classification.TOP_SECRET, frozenset({"OTHER"}),
                    frozenset({"CERT"}))
    _, headers, token = new_user(store, reader)
    return {"headers": headers, "token": token, "plain": plain.id}


def test_search_total_counts_only_readable(client: TestClient, leaky: dict[str, Any]) -> None:
    found = client.get(f"{API}/search", params={"q": f'"{SECRET_PHRASE}"'},
                       headers=leaky["headers"]).json()
    assert found["total_hits"] == 1 and found["total"] == 1
    assert [v["id"] for g in found["items"] for v in g["variants"]] == [leaky["plain"]]
    # a word only the hidden documents hold finds nothing, and says so with a zero
    none = client.get(f"{API}/search", params={"q": "sponsor"}, headers=leaky["headers"])
    assert none.json()["total_hits"] == 0


def test_web_search_count_only_readable(client: TestClient, leaky: dict[str, Any]) -> None:
    web_login(client, leaky["token"])
    assert "1 matching documents" in client.get("/search", params={"q": SECRET_PHRASE}).text
    assert "0 matching documents" in client.get("/search", params={"q": "sponsor"}).text


def test_list_totals_count_only_readable(client: TestClient, leaky: dict[str, Any]) -> None:
    h = leaky["headers"]
    docs = client.get(f"{API}/documents", headers=h).json()
    assert docs["total"] == 1 == len(docs["items"])
    entities = client.get(f"{API}/entities", params={"name": "nightjar"}, headers=h).json()
    assert entities["total"] == 1 == len(entities["items"])
    stories = client.get(f"{API}/stories", headers=h).json()
    assert stories["total"] == 1 == len(stories["items"])
    # a page past the readable rows is empty and its total unchanged
    page = client.get(f"{API}/documents", params={"limit": 1, "offset": 1}, headers=h).json()
    assert page["items"] == [] and page["total"] == 1


def test_source_counts_only_readable(store: SqlStore, client: TestClient,
                                     leaky: dict[str, Any]) -> None:
    store.set_source_status(store.get_source("open-desk").id,  # type: ignore[union-attr]
                            "ok: items=3, new=3, duplicates=0, quarantined=0")
    one = client.get(f"{API}/sources/open-desk", headers=leaky["headers"]).json()
    assert one["documents"] == 1 and one["last_status"] == "ok"
    listed = client.get(f"{API}/sources", headers=leaky["headers"]).json()
    assert [s["name"] for s in listed["items"]] == ["open-desk"] and listed["total"] == 1


@pytest.mark.parametrize("path", ["/documents", "/search", "/timeline", "/map"])
def test_hidden_source_answers_as_missing(client: TestClient, leaky: dict[str, Any],
                                          path: str) -> None:
    params = {"q": SECRET_PHRASE} if path == "/search" else {}
    answers = []
    for name in ("hidden-desk", "nosuch-desk"):
        r = client.get(API + path, params={**params, "source": name},
                       headers=leaky["headers"])
        answers.append((r.status_code, r.text.replace(name, "X")))
    assert answers[0] == answers[1] and answers[0][0] != 200
    r = [client.get(f"{API}/sources/{name}", headers=leaky["headers"])
         for name in ("hidden-desk", "nosuch-desk")]
    assert r[0].status_code == r[1].status_code == 404
    assert r[0].text.replace("hidden-desk", "X") == r[1].text.replace("nosuch-desk", "X")


def test_web_hidden_source_answers_as_missing(client: TestClient,
                                              leaky: dict[str, Any]) -> None:
    web_login(client, leaky["token"])
    pages = [client.get("/search", params={"q": SECRET_PHRASE, "source": name}).text
             .replace(name, "X") for name in ("hidden-desk", "nosuch-desk")]
    assert pages[0] == pages[1] and "unknown source" in pages[0]
