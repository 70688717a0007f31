"""The cut-off of search by meaning, kept apart from :mod:`allsource.analyze.semantic` so the
API and the web can name it without loading the embedding model.

Search by meaning ranks every readable document by the cosine between its embedding and the
query's: the nearest document always exists, however unrelated. A document whose cosine is
below :data:`MIN_SIMILARITY` is not shown as a match (the workspace, and the API unless asked
otherwise with ``min_score``). The figure was read off the demo corpus: the cosines of the
best documents for queries with relevant documents against those of queries without any
(benchmarks/RESULTS.md, section "wt-search").
"""

from __future__ import annotations

__all__ = ["MIN_SIMILARITY"]

#: the cosine below which a document is not a match
MIN_SIMILARITY = 0.35
