"""What the story index records per document: where it went (:class:`Assignment`), what is
kept of it (:class:`Member`) and the key of an LSH bucket (:data:`BandKey`).

The records are shared by the near-duplicate index (:mod:`allsource.process.dedup`) and
the SQL tables that hold it (:mod:`allsource.store.stories`), so they live here, below
both: the store never imports a stage.
"""

from __future__ import annotations

from dataclasses import dataclass

#: (band number, bucket digest); negative bands hold exact-duplicate digests
BandKey = tuple[int, bytes]


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where a document went: its story, the story's canonical (first) document, and why."""

    story_id: str
    canonical_id: str
    #: estimated Jaccard similarity to ``matched_id`` (1.0 for an exact duplicate, 0.0 for a
    #: new story)
    similarity: float
    is_new_story: bool
    matched_id: str | None


@dataclass(frozen=True, slots=True)
class Member:
    """What the index keeps per assigned document (a ``story_members`` row + signature)."""

    story_id: str
    matched_id: str | None
    similarity: float
    #: MinHash values as little-endian uint32; empty for exact duplicates and empty texts
    signature: bytes = b""

    def assignment(self, doc_id: str) -> Assignment:
        return Assignment(self.story_id, self.story_id, self.similarity,
                          self.matched_id is None, self.matched_id)
