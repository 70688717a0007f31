"""Which threat names are ambiguous, and the support vocabulary: on small injected word lists
(the rules), then on the installed data (wordfreq, GeoNames, the census first names)."""

from __future__ import annotations

import importlib.util

import pytest

from allsource.process.ambiguity import (
    CYBER_WORDS,
    STRONG,
    WEAK,
    NameSenses,
    capitals_only,
    cyber_terms,
)

ZIPF = {"august": 5.1, "royal": 4.8, "empire": 4.5, "golden": 4.7, "cup": 5.1, "dukes": 3.2,
        "calisto": 1.6, "beijing": 4.1, "group": 5.6, "bitter": 4.2, "the": 7.7,
        "stealer": 2.5, "cloud": 4.5, "atlas": 3.8, "lazarus": 3.3}
PLACES = {"cuba": "a country (GeoNames)", "beijing": "a city (GeoNames)",
          "turkish": "a nationality"}


@pytest.fixture()
def senses() -> NameSenses:
    return NameSenses(zipf=ZIPF, places=PLACES, given=frozenset({"kevin"}))


@pytest.mark.parametrize(("name", "shapes", "why"), [
    ("August", ["August"], "'August' is a month"),
    ("Cuba", ["Cuba"], "'Cuba' is a country (GeoNames)"),
    ("Turkish", ["Turkish"], "'Turkish' is a nationality"),
    ("Kevin", ["Kevin"], "'Kevin' is a first name (US census list)"),
    ("Royal", ["Royal"], "'Royal' is a common word (Zipf 4.8)"),
    ("GOP", ["GOP"], "'GOP' has 3 characters or fewer"),
    ("Golden Cup", ["Golden Cup"], "every word of 'Golden Cup' is a common word"),
    ("Beijing Group", ["Beijing Group"], "every word of 'Beijing Group' is a common word"),
    ("The Dukes", ["The Dukes"], "'The Dukes' is a common word (Zipf 3.2)"),
])
def test_ambiguous_names_say_why(senses: NameSenses, name: str, shapes: list[str],
                                 why: str) -> None:
    assert senses.reason(name, shapes) == why


@pytest.mark.parametrize(("name", "shapes"), [
    ("Turla", ["Turla"]),  # general English never uses it
    ("APT28", ["APT28"]),
    ("August Stealer", ["August Stealer"]),  # the name with its qualifier
    ("Lazarus Group", ["Lazarus Group"]),  # not every word is common
    ("BITTER", ["BITTER"]),  # a word listed only in capitals: a name by its casing
])
def test_distinctive_names(senses: NameSenses, name: str, shapes: list[str]) -> None:
    assert senses.reason(name, shapes) == ""


def test_rare_words_and_capitals(senses: NameSenses) -> None:
    assert senses.rare("Calisto") == "'Calisto' is a rare word of general English (Zipf 1.6)"
    assert senses.rare("Turla") == "" and senses.rare("APT28") == ""
    assert capitals_only(["GREF"]) == "GREF"
    assert capitals_only(["GREF", "Gref"]) == "" and capitals_only(["APT-28"]) == "APT-28"


def test_support_terms_are_learnt_from_prose() -> None:
    prose = (["The adversary may use powershell (Citation: Beechey 2010) to load a dll "
              "and steal credentials from the registry."] * 20
             + ["See [Mimikatz](https://attack.mitre.org/software/S0002) for credentials."])
    zipf = {"powershell": 2.7, "dll": 2.6, "credentials": 3.7, "registry": 3.8, "the": 7.7,
            "adversary": 3.3, "may": 6.0, "use": 6.0, "load": 4.5, "and": 7.4, "steal": 4.1,
            "from": 7.0, "to": 7.6, "a": 7.5, "see": 6.0, "for": 7.0, "mimikatz": 0.0}
    terms = cyber_terms(prose, names={"mimikatz"}, zipf=zipf)
    assert terms["powershell"] == terms["dll"] == STRONG
    assert terms["credentials"] == terms["registry"] == terms["adversary"] == WEAK
    assert "beechey" not in terms and "load" not in terms and "steal" not in terms
    assert "mimikatz" not in terms  # a name, not a term
    assert all(terms[w] == STRONG for w in CYBER_WORDS)


@pytest.mark.skipif(importlib.util.find_spec("wordfreq") is None,
                    reason="wordfreq not installed")
def test_installed_data() -> None:
    senses = NameSenses()
    for name in ("August", "Cuba", "Turkish", "Milan", "Philadelphia", "Beijing", "Czech",
                 "embargo", "Sanctions", "Assembly", "GOP", "Christmas", "James"):
        assert senses.reason(name, [name]), name
    for name in ("Turla", "Mimikatz", "Emotet", "Kimsuky", "APT28", "Sofacy"):
        assert senses.reason(name, [name]) == "", name
