"""Nearest vectors by cosine: an exact scan up to ``IVF_MIN`` vectors, an inverted file above.

Exact. One float32 matrix–vector product over every row and a partial sort: at 120,000 rows of
256 dimensions that reads 123 MB per query, a few milliseconds on a quiet core, and the answer
is exact. At 1,000,000 rows it reads 1 GB per query, too slow for an interactive search.

Inverted file (IVF). Above ``IVF_MIN`` rows, the rows are grouped around ``√n`` centroids found
by spherical k-means (Lloyd's iterations on a sample of 64 rows per centroid, centroids kept at
unit length so "nearest" is the highest cosine) and the matrix is stored grouped by centroid,
so each group is one contiguous slice. A query scores the centroids, then only the rows of the
``PROBE`` nearest groups (about ``PROBE/√n`` of the matrix, 13 % at 1M), exactly; if those hold
fewer than ``k`` rows it probes twice as many groups, and so on. It is approximate: a true
neighbour in a group whose centroid is not among the nearest is missed. ``benchmarks/semantic.py``
measures its recall@10 against the exact scan on real embeddings, for a range of ``probe``
values (a keyword of :meth:`VectorIndex.search`). A ``mask`` (one boolean per row: the rows a
reader may see) is applied to the probed rows' scores before the partial sort; if the probed
groups then hold fewer than ``k`` kept rows, more groups are probed as for small groups.
Plain numpy, no extra dependency: building at 1M rows is a few BLAS products (seconds), not a
graph construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["IVF_MIN", "PROBE", "VectorIndex", "top"]

#: from this many rows on, the inverted file replaces the exact scan
IVF_MIN = 250_000
#: groups probed per query (more: better recall, slower): the smallest of 16–256 giving
#: recall@10 ≥ 0.95 on the benchmark's 120,000 real-text vectors (346 groups; 48 gave 0.876,
#: 96 gave 0.948, 128 gives 0.970 — benchmarks/RESULTS.md, "semantic.py, wt-sem")
PROBE = 128
#: Lloyd's iterations, and sample rows per centroid for them
ITERATIONS = 8
SAMPLE_PER_LIST = 64
_BLOCK = 16_384  # rows scored against the centroids at a time (bounded memory)


def top(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest scores, best first (a partial sort: O(n + k log k))."""
    if k <= 0:
        return np.zeros(0, dtype=np.intp)
    if k >= len(scores):
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def _best(scores: np.ndarray, k: int, mask: np.ndarray | None
          ) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of ``scores`` (only where ``mask`` is true), best first, with scores."""
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
        k = min(k, int(np.count_nonzero(mask)))
    best = top(scores, k)
    return best, scores[best]


def _nearest(rows: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    out = np.empty(len(rows), dtype=np.intp)
    for start in range(0, len(rows), _BLOCK):
        out[start:start + _BLOCK] = np.argmax(rows[start:start + _BLOCK] @ centroids.T, axis=1)
    return out


def _centroids(matrix: np.ndarray, lists: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = len(matrix)
    sample = matrix[np.sort(rng.choice(n, min(n, lists * SAMPLE_PER_LIST), replace=False))]
    centroids = sample[rng.choice(len(sample), lists, replace=False)].copy()
    for _ in range(ITERATIONS):
        assign = _nearest(sample, centroids)
        order = np.argsort(assign, kind="stable")
        counts = np.bincount(assign, minlength=lists)
        used = counts > 0
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[used]
        sums = np.add.reduceat(sample[order], starts, axis=0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centroids[used] = sums / np.maximum(norms, 1e-12)
    return centroids


@dataclass(slots=True)
class VectorIndex:
    """Rows (unit vectors) to search; with ``centroids``, grouped so that group ``i`` is
    ``matrix[bounds[i]:bounds[i + 1]]``."""

    matrix: np.ndarray
    centroids: np.ndarray | None = None
    bounds: np.ndarray | None = None

    @classmethod
    def build(cls, matrix: np.ndarray, *, ivf_min: int = IVF_MIN, seed: int = 0
              ) -> tuple[VectorIndex, np.ndarray]:
        """The index, and the permutation applied to the rows (``index.matrix[i]`` is
        ``matrix[perm[i]]``): the caller reorders whatever it keeps per row the same way."""
        n = len(matrix)
        if n < max(ivf_min, 2):
            return cls(matrix), np.arange(n)
        lists = max(2, int(np.sqrt(n)))
        centroids = _centroids(matrix, lists, seed)
        assign = _nearest(matrix, centroids)
        perm = np.argsort(assign, kind="stable")
        bounds = np.concatenate(([0], np.cumsum(np.bincount(assign, minlength=lists))))
        return cls(matrix[perm], centroids, bounds), perm

    @property
    def exact(self) -> bool:
        return self.centroids is None

    def search(self, vector: np.ndarray, k: int, *, mask: np.ndarray | None = None,
               probe: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(row positions, cosines) of up to ``k`` nearest rows, best first; with ``mask`` (a
        boolean per row), only among the rows it keeps. ``probe``: groups probed (default
        ``PROBE``; ignored by the exact scan)."""
        if self.centroids is None or self.bounds is None:
            return _best(self.matrix @ vector, k, mask)
        bounds = self.bounds
        groups = top(self.centroids @ vector, len(self.centroids))
        probe = PROBE if probe is None else max(1, probe)
        while True:
            chosen = groups[:probe]
            held = int((bounds[chosen + 1] - bounds[chosen]).sum())
            if held >= k or probe >= len(groups):
                rows = np.concatenate([np.arange(bounds[g], bounds[g + 1]) for g in chosen])
                scores = np.concatenate([self.matrix[bounds[g]:bounds[g + 1]] @ vector
                                         for g in chosen])
                best, kept = _best(scores, k, None if mask is None else mask[rows])
                # a mask may leave the probed groups short: probe more, as for a small group
                if len(best) >= k or probe >= len(groups):
                    return rows[best], kept
            probe *= 2

    def scores(self, vector: np.ndarray) -> np.ndarray:
        """Every row's cosine (exact; for ranking under a mask)."""
        result: np.ndarray = self.matrix @ vector
        return result
