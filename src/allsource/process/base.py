"""The processing-stage plugin contract.

A stage is a function over a batch of :class:`Work` items, registered under a name through the
``register_stages`` hook (built-in stages use the same hook, via the ``allsource.plugins``
entry points). Each stage declares, next to its code:

* ``name`` and ``version`` — results are stored per (document, stage) with the version, so
  bumping a version makes ``allsource process`` redo that stage for every document;
* ``requires`` — stages whose results it reads (the pipeline orders stages by this);
* ``sequential`` — true for stages that need a global, ordered view (story assignment
  compares each document with every earlier one), which the engine runs in the parent
  process, between parallel phases;
* ``default`` — whether it is in the default pipeline (model-heavy stages are opt-in);
* ``max_tlp`` and ``time_limit``, as collectors do.

A stage only *proposes*: it appends observables/entities (:class:`~allsource.model.records.
StixObject`), :class:`~allsource.model.records.Mention` spans, relationships and a JSON-able
``annotations[stage]`` entry to each :class:`Work`; the writer stores them with the document's
marking propagated to everything derived from it.

A mention is counted once. Many collectors store an article whose body opens with its own
title (RSS items, extracted web pages, files): ``full_text`` then holds the title twice, and a
name in it would be found twice. :meth:`Work.add_object` therefore records no mention inside
the title when the body repeats it (:attr:`Work.title_repeated`: the body's opening, with
case and spacing ignored, contains the whole title); the object itself is still proposed, and
its mention in the body stands.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from allsource.model.markings import TLP, Marking
from allsource.model.records import Mention, Relationship, StixObject

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

_SPACE = re.compile(r"\W+")
#: How far into the body a repeated title is looked for (after a dateline or a byline).
TITLE_WINDOW = 400


def _squash(text: str) -> str:
    return _SPACE.sub(" ", text.casefold()).strip()


def title_repeated(title: str, text: str) -> bool:
    """Whether the body ``text`` opens with (or, within :data:`TITLE_WINDOW` characters plus
    the title's length, contains) the whole ``title``, case and punctuation aside."""
    key = _squash(title)
    if len(key) < 4:
        return False
    return key in _squash(text[:len(title) + TITLE_WINDOW])


@dataclass(slots=True)
class Work:
    """One document travelling through the pipeline, with what the stages found so far.

    Stages read :attr:`full_text` (title, a newline, then the body) and the offsets of the
    mentions they record point into it; a stage that works on cleaned text maps its spans
    back first (see :mod:`allsource.process.normalize`)."""

    id: str
    title: str
    text: str
    kind: str = "document"
    content_hash: str = ""
    marking: Marking = field(default_factory=Marking)
    source_id: str | None = None
    published_at: datetime | None = None
    #: cleaned text and shared intermediate results, for later stages (not stored)
    scratch: dict[str, Any] = field(default_factory=dict)
    #: stage name -> JSON-able result (stored in the ``annotations`` table)
    annotations: dict[str, Any] = field(default_factory=dict)
    objects: list[StixObject] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    #: stage name -> error message, for a stage that failed on this document
    errors: dict[str, str] = field(default_factory=dict)
    _title_repeated: bool | None = field(default=None, repr=False)

    @property
    def title_repeated(self) -> bool:
        """Whether the body repeats the title (then mentions inside the title are not
        recorded: see the module docstring)."""
        if self._title_repeated is None:
            self._title_repeated = bool(self.title) and title_repeated(self.title, self.text)
        return self._title_repeated

    @property
    def full_text(self) -> str:
        """Title and body as one string: the text every stage's offsets refer to."""
        return f"{self.title}\n{self.text}" if self.title else self.text

    def add_object(self, obj: StixObject, extractor: str, start: int | None = None,
                   end: int | None = None) -> None:
        """Record ``obj`` as found in this document (marking: at least the document's), and its
        mention at ``start``–``end`` unless that lies in a title the body repeats."""
        obj.marking = obj.marking.combine(self.marking)
        self.objects.append(obj)
        if start is not None and start < len(self.title) and self.title_repeated:
            return
        self.mentions.append(Mention(obj.id, extractor, start, end))


class Stage(ABC):
    """Base class of processing stages."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()
    sequential: ClassVar[bool] = False
    default: ClassVar[bool] = True
    #: position among stages that do not depend on each other (lower runs first)
    order: ClassVar[int] = 50
    max_tlp: ClassVar[TLP] = TLP.RED
    time_limit: ClassVar[float] = 3600.0
    #: whether :meth:`process` reads what earlier stages left in :attr:`Work.scratch`. A
    #: multi-process engine sends the workers' scratch back (the cleaned text, sentence
    #: spans: about a quarter of a batch's pickles) only when a stage run after them in
    #: this process reads it (:mod:`allsource.engine.rounds`); unsure: leave it true
    reads_scratch: ClassVar[bool] = True

    def __init__(self, options: dict[str, Any] | None = None,
                 store: SqlStore | None = None) -> None:
        #: per-source or command-line options for this stage
        self.options = dict(options or {})
        #: the store, handed only to sequential stages (they run in the parent process)
        self.store = store

    @property
    def extractor(self) -> str:
        """The provenance label of what this stage proposes, e.g. ``observables@2``."""
        return f"{self.name}@{self.version}"

    @property
    def run_version(self) -> str:
        """The version this stage's results are stored under: :attr:`version`, plus a
        fingerprint of whatever else the results depend on (a model trained from analysts'
        labels, analysts' overrides), so changing that redoes the stage as a version bump
        does."""
        mark = self.fingerprint()
        return f"{self.version}+{mark}" if mark else self.version

    def fingerprint(self) -> str:
        """A short digest of the stage's data besides its code (empty: nothing)."""
        return ""

    def prepare(self, store: SqlStore) -> None:  # noqa: B027 - optional hook
        """Read what the stage needs from the store (trained models, analysts' decisions)
        into picklable :attr:`options`; called once in the parent process when the pipeline
        is built for a store, so workers on other processes or machines get it too."""

    def setup(self) -> None:  # noqa: B027 - optional hook, most stages need no set-up
        """Load models or tables; called once per process before the first batch."""

    @abstractmethod
    def process(self, batch: list[Work]) -> None:
        """Add this stage's findings to every item of ``batch`` (in place)."""
