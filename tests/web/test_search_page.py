"""The search page's reads (web/search_page.py) and the start page's (web/start_page.py) as
a restricted reader and as the owner, on both backends: the entity card and the names added
to the search only from what the reader may see (a hidden entity reads as missing), results,
totals and facet counts of readable documents only, facets that follow the selection with
countries by name, paging that reaches every match, the similarity cut-off, syntax hints,
and a start page of readable stories and alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from allsource.analyze.semantic import index_embeddings
from allsource.analyze.similarity import MIN_SIMILARITY
from allsource.assess.alerts import AlertDraft, Severity, raise_alerts
from allsource.model.ids import minted_id
from allsource.model.markings import TLP, Audience, Classification, Marking
from allsource.model.names import alias_key
from allsource.model.records import Collected, Document, Mention, Source, StixObject
from allsource.store import date_order, fts_rank, postgres
from allsource.store import schema as t
from allsource.store.query import SearchHit
from allsource.store.sql import SqlStore
from allsource.web import queries, search_page, start_page
from allsource.web.search_page import SearchParams, facets, run_search

OWNER = Audience.owner()
READER = Audience(max_tlp=TLP.AMBER, clearance=Classification.UNCLASSIFIED)
RED = Marking(tlp=TLP.RED)
DAY = datetime(2025, 3, 1, tzinfo=UTC)


def _entity(type_: str, name: str) -> StixObject:
    oid = minted_id(type_, name)
    return StixObject(oid, type_, name, {"type": type_, "id": oid, "name": name,
                                         "description": f"[{name}](https://x.test/{name}) "
                                                        "is a group. (Citation: Vendor)"})


def _alias(store: SqlStore, entity: StixObject, alias: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(t.alias_statements.insert().values(
            id=f"x-allsource-alias--{uuid4()}", entity_id=entity.id, entity_name=entity.name,
            entity_type=entity.type, alias=alias, alias_key=alias_key(alias),
            member_id=entity.id, other_id="", basis="alias", provenance="test",
            origin="gazetteer", status="active", reason="",
            created_at=datetime.now(UTC).replace(tzinfo=None), created_by="test"))


def _world(store: SqlStore) -> dict[str, str]:
    apt, owl = _entity("intrusion-set", "APT28"), _entity("intrusion-set", "Quiet Owl")
    src = Source(name="feed", kind="files", location="/tmp/x")
    store.add_source(src)
    docs = {
        "apt": Document.build(kind="report", title="APT28 phishing", published_at=DAY,
                              text="APT28 sent phishing e-mails to ministries."),
        "sofacy": Document.build(kind="memo", title="Sofacy dropper",
                                 published_at=DAY + timedelta(days=2),
                                 text="Sofacy used a dropper against NATO."),
        "sednit": Document.build(kind="report", title="Sednit secret", marking=RED,
                                 published_at=DAY + timedelta(days=3),
                                 text="Sednit ran a secret operation."),
        "owl": Document.build(kind="report", title="Owl secret", marking=RED,
                              published_at=DAY + timedelta(days=1),
                              text="Quiet Owl was seen."),
        "chem": Document.build(kind="article", title="Chemistry", published_at=DAY,
                               text="Strontium salts colour fireworks red."),
    }
    store.write_batch(src, [
        Collected(docs["apt"], [apt], [], [Mention(apt.id, "t", 0, 5)]),
        Collected(docs["sofacy"], [apt], [], [Mention(apt.id, "t", 0, 6)]),
        Collected(docs["sednit"], [apt], [], [Mention(apt.id, "t", 0, 6)]),
        Collected(docs["owl"], [owl], [], [Mention(owl.id, "t", 0, 9)]),
        Collected(docs["chem"])], [], None)
    for name in ("APT28", "Fancy Bear", "Sofacy", "Sednit", "Strontium"):
        _alias(store, apt, name)
    _alias(store, owl, "Quiet Owl")
    raise_alerts(store, [
        AlertDraft(kind="watchlist", severity=Severity.HIGH, title="Sofacy seen",
                   group_key="watchlist:x", document_id=docs["sofacy"].id),
        AlertDraft(kind="watchlist", severity=Severity.HIGH, title="Sednit seen",
                   group_key="watchlist:x", document_id=docs["sednit"].id)])
    return {k: d.id for k, d in docs.items()} | {"apt28": apt.id, "owl_entity": owl.id}


def _params(q: str, **kw: object) -> SearchParams:
    chosen = {name: [] for name, _ in search_page.FACETS}
    chosen.update(kw.pop("chosen", {}))  # type: ignore[arg-type]
    return SearchParams(q, chosen["source"], chosen["kind"], None, None, chosen,  # type: ignore[arg-type]
                        **kw)  # type: ignore[arg-type]


def _ids(found: search_page.Outcome) -> list[str]:
    return [h.id for g in found.groups for h in (g.lead, *g.variants)]


def test_entity_card_and_names_as_the_reader_sees_them(store: SqlStore) -> None:
    w = _world(store)
    found = run_search(store, READER, _params("Fancy Bear"))
    assert found.card is not None and found.card.id == w["apt28"]
    assert found.card.description == "APT28 is a group."  # Markdown link as text
    assert found.card.mentions == 2  # the RED report's mention is not counted
    assert found.expansion is not None
    assert {"APT28", "Sofacy", "Sednit"} <= set(found.expansion.added)
    assert found.expansion.left_out == ["Strontium"]  # a word of chemistry: not searched
    # readable documents found under any distinctive name, the RED one and chemistry not
    assert sorted(_ids(found)) == sorted([w["apt"], w["sofacy"]])
    assert (found.total, found.total_exact) == (2, True)
    counts = {f.name: sum(n for _, _, n in f.values) for f in found.facets}
    assert counts["source"] == counts["kind"] == 2
    everything = run_search(store, OWNER, _params("Fancy Bear"))
    assert sorted(_ids(everything)) == sorted([w["apt"], w["sofacy"], w["sednit"]])
    # the typed words only
    typed = run_search(store, READER, _params("Fancy Bear", exact=True))
    assert typed.expansion is None and typed.total == 0 and typed.card is not None


def test_a_hidden_entity_reads_as_missing(store: SqlStore) -> None:
    w = _world(store)
    hidden = run_search(store, READER, _params('"Quiet Owl"'))
    assert hidden.card is None and hidden.candidates == [] and hidden.total == 0
    assert hidden.facets and all(f.values == [] for f in hidden.facets)
    nosuch = run_search(store, READER, _params('"Loud Owl"'))
    assert (nosuch.card, nosuch.total) == (None, 0)
    seen = run_search(store, OWNER, _params('"Quiet Owl"'))
    assert seen.card is not None and seen.card.id == w["owl_entity"]


def test_every_match_is_reachable_newest_first(store: SqlStore,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    w = _world(store)
    for module in (fts_rank, postgres):
        monkeypatch.setattr(module, "RANK_CANDIDATES", 1)
        monkeypatch.setattr(module, "MAX_COUNT", 1)
    monkeypatch.setattr(date_order, "MAX_COUNT", 1)
    monkeypatch.setattr(search_page, "PAGE_SIZE", 1)
    query = "APT28 OR Sofacy OR Sednit OR Strontium"
    seen: list[str] = []
    page = 1
    while True:
        found = run_search(store, READER, _params(query, sort="date", exact=True, page=page))
        assert (found.total, found.total_exact, found.pages) == (1, False, None)  # "1+"
        seen += _ids(found)
        if not found.has_next:
            break
        page += 1
    # newest first; same day: the later stored first
    assert seen == [w["sofacy"], w["chem"], w["apt"]]
    ranked = run_search(store, READER, _params(query, exact=True))
    if store.dialect_name == "postgresql":  # ranks 1 candidate, then says where the rest are
        assert len(_ids(ranked)) == 1 and ranked.ranked_end
    owner_seen = []
    for page in range(1, 6):
        owner_seen += _ids(run_search(store, OWNER, _params(query, sort="date", page=page)))
    assert owner_seen[0] == w["sednit"] and len(owner_seen) == 4


def test_hints_and_semantic_cut_off(store: SqlStore) -> None:
    w = _world(store)
    found = run_search(store, READER, _params("apt28 or sofacy"))
    assert found.suggestion == "apt28 OR sofacy"
    assert found.hints and "did you mean OR?" in found.hints[0]
    assert run_search(store, READER, _params("apt28 OR sofacy")).hints == []
    index_embeddings(store)
    near = run_search(store, READER, _params("phishing e-mails sent to ministries",
                                             mode="semantic"))
    assert near.min_similarity == MIN_SIMILARITY
    assert _ids(near) and _ids(near)[0] == w["apt"]
    assert all(h.score >= MIN_SIMILARITY for g in near.groups for h in (g.lead, *g.variants))
    assert w["sednit"] not in _ids(near)
    # every readable document is ranked by meaning; the unrelated ones are not matches
    assert near.total < 3 and near.total_exact


def _hit(doc: str, source: str, kind: str) -> SearchHit:
    return SearchHit(doc, kind, "", "", 1.0, None, None, None, source, "")


def test_facets_follow_the_selection_and_name_countries() -> None:
    hits = [_hit("a", "s1", "report"), _hit("b", "s1", "memo"), _hit("c", "s2", "report"),
            _hit("d", "s2", "report")]
    facts = queries.WindowFacts(sectors={}, countries={"a": {"UA"}, "b": {"UA", "RU"},
                                                       "c": {"RU"}, "d": {"FR"}},
                                entities={}, entity_names={}, credibility={})
    none = {name: [] for name, _ in search_page.FACETS}

    def counts(chosen: dict[str, list[str]]) -> dict[str, dict[str, int]]:
        return {f.name: {v: n for v, _, n in f.values} for f in facets(hits, facts, chosen)}

    assert counts(none)["kind"] == {"report": 3, "memo": 1}
    ukraine = counts({**none, "country": ["UA"]})
    assert ukraine["kind"] == {"report": 1, "memo": 1}  # recounted under the choice
    assert ukraine["source"] == {"s1": 2}
    assert ukraine["country"] == {"UA": 2, "RU": 2, "FR": 1}  # its own facet: alternatives
    both = counts({**none, "country": ["UA"], "kind": ["report"]})
    assert both["source"] == {"s1": 1} and both["country"] == {"UA": 1, "RU": 1, "FR": 1}
    labels = {v: label for f in facets(hits, facts, none) if f.name == "country"
              for v, label, _ in f.values}
    assert labels == {"UA": "Ukraine", "RU": "Russia", "FR": "France"}


def test_start_page_shows_what_the_reader_may_read(store: SqlStore) -> None:
    w = _world(store)
    seen = start_page.start_context(store, READER)
    recent = {s.document_id for s in seen["recent"]}
    assert recent == {w["apt"], w["sofacy"], w["chem"]}
    assert [a.title for a in seen["start_alerts"]] == ["Sofacy seen"]
    assert seen["alert_total"] == 1
    everything = start_page.start_context(store, OWNER)
    assert {s.document_id for s in everything["recent"]} >= {w["sednit"], w["owl"]}
    assert everything["alert_total"] == 2


def test_entity_facet_names_the_shown_values_only_and_drops_the_unnamed() -> None:
    """Names are read for the values a facet shows (and the chosen ones); a value with no
    stored entity name is left out and the next one shown in its place."""
    hits = [_hit(f"d{i}", "s", "report") for i in range(20)]
    # entity e{k} is in documents d0..d{19-k}: e0 the most frequent
    entities = {f"d{i}": {f"e{k}" for k in range(20 - i)} for i in range(20)}
    facts = queries.WindowFacts(sectors={}, countries={}, entities=entities,
                                entity_names={}, credibility={})
    asked: list[list[str]] = []

    def names(ids: object) -> dict[str, str]:
        asked.append(list(ids))  # type: ignore[call-overload]
        return {i: i.upper() for i in asked[-1] if i != "e3"}  # e3: not a stored entity

    chosen = {name: [] for name, _ in search_page.FACETS} | {"entity": ["e19"]}
    entity = next(f for f in facets(hits, facts, chosen, names=names) if f.name == "entity")
    shown = [v for v, _, _ in entity.values]
    assert shown[:search_page.FACET_SIZE] == [f"e{k}" for k in range(16) if k != 3]
    assert "e19" in shown and entity.values[-1][1] == "E19"
    assert asked == [["e19", *(f"e{k}" for k in range(15))], ["e15"]]
    # a chosen entity no document of the window names: still shown by name
    asked.clear()
    empty = queries.WindowFacts(sectors={}, countries={}, entities={}, entity_names={},
                                credibility={})
    entity = next(f for f in facets([], empty, chosen, names=names) if f.name == "entity")
    assert entity.values == [("e19", "E19", 0)] and asked == [["e19"]]
