"""Gazetteer matching on the real gazetteer of the installed packages: whole words only, case
rules, longest match, offsets into the original text, resolution, pickling, and bounded time on
hostile input."""

from __future__ import annotations

import pickle
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from allsource.process import entities as entities_module
from allsource.process import gazetteer as gz
from allsource.process.entities import EntityMatch, Gazetteer, default_gazetteer
from tests.steps import assert_linear

APT28 = "intrusion-set--bef4c620-0787-42a8-a96d-b7eb6e85917c"
MIMIKATZ = "tool--afc079f3-c0ea-4096-b75d-3f05338b7f60"

@pytest.fixture(scope="module")
def g() -> Gazetteer:
    return Gazetteer.build()


def _names(g: Gazetteer, text: str) -> list[tuple[str, str]]:
    return [(m.surface, m.name) for m in g.find(text)]


def test_aliases_resolve_to_one_canonical_entity(g: Gazetteer) -> None:
    text = "APT28, also known as Fancy Bear or Sofacy, used Mimikatz."
    found = g.find(text)
    assert [m.surface for m in found] == ["APT28", "Fancy Bear", "Sofacy", "Mimikatz"]
    assert [m.entity_id for m in found] == [APT28, APT28, APT28, MIMIKATZ]
    assert all(text[m.start:m.end] == m.surface for m in found)
    assert found[0] == EntityMatch(0, 5, "APT28", APT28, "APT28", "threat-actor",
                                   "distinctive name")


def test_whole_words_only(g: Gazetteer) -> None:
    assert _names(g, "APT28's tooling") == [("APT28", "APT28")]
    assert all(m.surface != "APT2" for m in g.find("APT28 and APT29"))
    assert _names(g, "the Ryukyu islands") == []
    assert [m.surface for m in g.find("Ryuk malware hit a hospital")] == ["Ryuk"]


def test_separators_and_case_variants(g: Gazetteer) -> None:
    for text in ("Fancy-Bear struck", "FANCY BEAR struck", "Fancy Bear struck"):
        text += " with spearphishing and a backdoor"
        assert [m.entity_id for m in g.find(text)] == [APT28], text
    assert g.find("a fancy bear at the zoo") == []  # common words: listed case only
    assert [m.surface for m in g.find("turla and TURLA")] == ["turla", "TURLA"]


def test_common_words_need_their_case_and_not_a_sentence_start(g: Gazetteer) -> None:
    assert _names(g, "Net income rose; the net result was fine.") == []
    assert _names(g, "Equation is hard to solve.") == []
    text = "Kaspersky linked the malware to Equation in 2015."
    assert _names(g, text) == [("Equation", "Equation")]
    # one sense per discourse: named mid-sentence elsewhere, so the opening one counts too
    found = _names(g, "Equation built the rootkit. Analysts tie it to Equation.")
    assert found == [("Equation", "Equation"), ("Equation", "Equation")]


THREATS = frozenset({"threat-actor", "malware", "tool", "campaign"})


def test_a_common_word_opening_a_sentence_is_the_name_with_cyber_context(g: Gazetteer) -> None:
    """ATT&CK's procedure examples open with the name: "Empire can …". Alone in its text,
    such a word counts only with support nearby, like an ambiguous name."""
    text = "Empire can use PowerShell to run its payloads."
    found, _ = g.scan(text)
    [match] = [m for m in found if m.type in THREATS]
    assert (match.surface, match.name, match.type) == ("Empire", "Empire", "tool")
    assert entities_module.OPENS_SENTENCE in match.why and "'powershell'" in match.why
    old = Gazetteer(g.data, context=False)  # the rules before: the sentence start loses it
    assert [m for m in old.find(text) if m.type in THREATS] == []
    found, refused = g.scan("Empire State Building lights turned blue for the final.")
    assert [m for m in found if m.type in THREATS] == []
    assert [(m.surface, m.why.endswith("no support")) for m in refused] == [("Empire", True)]


def _threats(g: Gazetteer, text: str) -> list[str]:
    return [m.surface for m in g.find(text) if m.type in THREATS]


@pytest.mark.parametrize("text", [
    "Beijing and Milan agreed a deal in August; Turkish and Czech ministers backed it.",
    "Cuba lifted the embargo; sanctions on the Assembly and the GOP lockout followed.",
    "Kevin and Jimmy celebrated a Grand Slam at Christmas in Philadelphia.",
    "Banks encrypt their data, the minister said.",
])
def test_ordinary_words_are_not_threats(g: Gazetteer, text: str) -> None:
    assert _threats(g, text) == []


def test_an_ambiguous_name_is_kept_with_cyber_context_and_says_why(g: Gazetteer) -> None:
    text = "The Cuba ransomware used PowerShell and a backdoor against its victims."
    [match] = [m for m in g.find(text) if m.type in THREATS]
    assert (match.surface, match.type) == ("Cuba", "malware")
    assert match.why.startswith("ambiguous: 'Cuba' is a country")
    assert "cyber context within" in match.why and "'ransomware'" in match.why
    # without the context, the same word is not the ransomware (the country is the places
    # stage's business)
    assert _threats(g, "Cuba won the match.") == []


def test_refused_mentions_are_reported_with_the_reason(g: Gazetteer) -> None:
    found, refused = g.scan("Cuba welcomed the Milan visit.")
    assert all(m.type not in THREATS for m in found)
    assert {m.surface for m in refused} == {"Cuba", "Milan"}
    assert all(m.why.endswith("no support") for m in refused)


def test_a_place_name_after_a_locative_preposition_is_the_place(g: Gazetteer) -> None:
    text = "The Milan backdoor used PowerShell against offices in Milan."
    found, refused = g.scan(text)
    assert [m.start for m in found if m.type in THREATS] == [text.index("Milan")]
    [place] = refused
    assert place.start == text.rindex("Milan") and "'in Milan' reads as the place" in place.why


def test_a_common_word_after_a_pronoun_or_modal_is_a_verb(g: Gazetteer) -> None:
    """The demo's MISP event title: ransomware context all around, yet "You Play" is a verb;
    the same name elsewhere in that text is not vouched for by it, while "switched to Play"
    (a preposition, not a subject) keeps the name."""
    text = "PUBG Ransomware Decrypts Your Files If You Play PlayerUnknown's Battlegrounds"
    found, refused = g.scan(text)
    assert [m.name for m in found if m.type in THREATS] == ["PUBG Ransomware"]
    [verb] = refused
    assert "'you Play' reads as a verb" in verb.why
    found, _ = g.scan("Affiliates switched to Play after the takedown, deploying ransomware.")
    assert [m.surface for m in found if m.type in THREATS] == ["Play"]


@pytest.mark.parametrize(("text", "name"), [
    ("The loader calls System.Reflection.Assembly.Load from PowerShell.", "Assembly"),
    ("KillDisk registers a service named Plug-And-Play Support, like other malware.", "Play"),
])
def test_an_ambiguous_name_inside_an_identifier_or_compound_is_not_the_threat(
        g: Gazetteer, text: str, name: str) -> None:
    found, refused = g.scan(text)
    assert name not in [m.surface for m in found if m.type in THREATS]
    [why] = [m.why for m in refused if m.surface == name]
    assert entities_module.IDENTIFIER in why
    # the same name standing alone, with the same context, is kept
    alone = text.replace("Plug-And-Play Support", "Play").replace(
        "System.Reflection.Assembly.Load", "the Play ransomware")
    assert "Play" in [m.surface for m in g.find(alone) if m.type in THREATS]


def test_the_name_with_its_qualifier_needs_no_context(g: Gazetteer) -> None:
    [match] = g.find("August Stealer was sold on forums.")
    assert (match.name, match.why) == ("August Stealer", "distinctive name")


def test_observables_are_support(g: Gazetteer) -> None:
    text = "After the update, Milan beaconed to 192.0.2.7 twice."
    assert _threats(g, text) == []
    found = [m for m in g.find(text, support=[text.index("192")]) if m.type in THREATS]
    assert [m.surface for m in found] == ["Milan"] and "an observable" in found[0].why


def test_a_rare_word_needs_a_cyber_document(g: Gazetteer) -> None:
    assert _threats(g, "Ryuk hit a hospital.") == []
    text = "Ryuk hit a hospital. Later the attackers moved laterally with PowerShell."
    [match] = [m for m in g.find(text) if m.type in THREATS]
    assert match.surface == "Ryuk" and match.why.startswith("rare: 'Ryuk'")


def test_distinctive_names_need_no_context(g: Gazetteer) -> None:
    found = [m for m in g.find("Turla and APT28 were in the news.") if m.type in THREATS]
    assert [(m.surface, m.why) for m in found] == [("Turla", "distinctive name"),
                                                    ("APT28", "distinctive name")]


def test_the_baseline_matcher_keeps_the_old_rules(g: Gazetteer) -> None:
    old = Gazetteer(g.data, context=False)
    assert [m.surface for m in old.find("Cuba won the match.") if m.type in THREATS] == ["Cuba"]
    assert all(m.why == "" for m in old.find("Cuba won the match."))


@pytest.mark.parametrize("name", ["P.A.S. Webshell", "AES-NI: April Edition"])
def test_a_name_whose_punctuation_leaves_two_spaces_is_found_as_written(
        g: Gazetteer, name: str) -> None:
    text = f"Analysts saw {name} on the server."
    [match] = [m for m in g.find(text) if m.type in THREATS]
    assert match.surface == name and text[match.start:match.end] == name
    assert match.entity_id == g.resolve(name).id  # type: ignore[union-attr]


def test_longest_match_wins(g: Gazetteer) -> None:
    found = g.find("They deployed Cobalt Strike beacons.")
    assert [(m.surface, m.name) for m in found] == [("Cobalt Strike", "Cobalt Strike")]


def test_offsets_point_into_text_with_unicode(g: Gazetteer) -> None:
    text = "İstanbul — “APT28’s” operators, ﬁles & Zürich: Turla."
    found = g.find(text)
    assert {m.surface for m in found} >= {"APT28", "Turla"}
    assert all(text[m.start:m.end] == m.surface for m in found)


def test_sectors_but_no_places(g: Gazetteer) -> None:
    # places are the places stage's (allsource.process.geocode), not the gazetteer's
    types = {m.surface: m.type for m in g.find("Attacks in Ukraine hit the Energy sector.")}
    assert types == {"Energy": "sector"}
    assert g.find("fine china and energy drinks") == []


def test_resolve(g: Gazetteer) -> None:
    entity = g.resolve("fancy bear")
    assert entity is not None and entity.id == APT28
    assert g.resolve(APT28) is entity
    assert g.resolve(gz.entity_id("threat-actor", "APT28")) is entity  # a member id
    assert g.resolve("Net") is not None  # never matched in text, still resolvable
    assert g.resolve("no such actor xyz") is None


def test_pickles_for_worker_processes(g: Gazetteer) -> None:
    copy = pickle.loads(pickle.dumps(g))
    text = "Sandworm Team used Industroyer against Ukraine."
    assert copy.find(text) == g.find(text)


def test_empty_and_trivial_input(g: Gazetteer) -> None:
    assert g.find("") == []
    assert g.find("   \n\t") == []


HOSTILE: dict[str, Callable[[int], str]] = {
    "dots": lambda n: "." * n,
    "brackets": lambda n: "[" * (n // 2) + "APT28" + "]" * (n // 2),
    "ten_mb": lambda n: ("APT28 used Mimikatz against the Energy sector in Ukraine. " * (
        n // 58 + 1))[:n],
    "binary": lambda n: random.Random(0).randbytes(n).decode("latin-1"),
    "one_alias": lambda n: "Turla " * (n // 6),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_input_finishes_in_bounded_work(g: Gazetteer, name: str) -> None:
    found = g.find(HOSTILE[name](10_000_000 if name == "ten_mb" else 1_000_000))
    if name == "brackets":
        assert [m.surface for m in found] == ["APT28"]
    # Counted calls, not seconds (tests/steps.py).
    assert_linear(HOSTILE[name], g.find, 50_000, per_char=20)


def test_default_gazetteer_uses_the_cache_dir(g: Gazetteer, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLSOURCE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(gz, "build_data", lambda separate=(): g.data)
    default_gazetteer.cache_clear()
    try:
        first = default_gazetteer()
        assert default_gazetteer() is first
        assert list(tmp_path.glob("gazetteer-*.json"))
        assert first.find("APT28")[0].entity_id == APT28
    finally:
        default_gazetteer.cache_clear()
    assert entities_module.default_cache_dir() == tmp_path


@pytest.mark.parametrize("text", [
    "Reports in the Financial Times suggested a bid.",
    "The International Energy Agency (IEA) warned demand would fall.",
    "MPs called on the Department of Trade and Industry to block it.",
    "Japan's Nippon Steel slid after it agreed to pay more.",
    "Engineers at Fairmont Hotels & Resorts said so.",
    "Transportation Secretary Norman Mineta said he was delighted.",
])
def test_a_sector_word_inside_an_organisations_name_is_no_sector(g: Gazetteer,
                                                                  text: str) -> None:
    assert [m.surface for m in g.find(text) if m.type == "sector"] == []


@pytest.mark.parametrize(("text", "sector"), [
    ("Energy companies were hit hardest.", "Energy"),
    ("Retail sales dropped by 1% on the month.", "Retail"),
    ("Education, environmental protection and transport lose out.", "Education"),
    ("Attacks on the Energy sector rose.", "Energy"),
    ("Telecoms is one of two areas targeted.", "Telecoms"),
])
def test_a_sector_named_as_a_common_noun_stays(g: Gazetteer, text: str, sector: str) -> None:
    assert sector in [m.surface for m in g.find(text) if m.type == "sector"]
