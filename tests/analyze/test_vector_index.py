"""The vector index behind search by meaning: exact below ``IVF_MIN`` rows, an inverted file
above, whose answers are checked against the exact scan on clustered vectors (seeded, so the
figures are the same on every run)."""

from __future__ import annotations

import numpy as np

from allsource.analyze.vector_index import VectorIndex, top


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def _clustered(n: int, dim: int = 32, clusters: int = 40, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    return _unit(centres[rng.integers(0, clusters, n)] + 0.35 * rng.standard_normal((n, dim)))


def test_top_is_a_partial_sort_best_first() -> None:
    scores = np.array([0.1, 0.9, -0.2, 0.5, 0.9, 0.3], dtype=np.float32)
    assert list(top(scores, 3)) == [1, 4, 3]
    assert list(top(scores, 10)) == [1, 4, 3, 5, 0, 2]
    assert len(top(scores, 0)) == 0


def test_below_the_threshold_the_search_is_exact() -> None:
    matrix = _clustered(500)
    index, perm = VectorIndex.build(matrix, ivf_min=1000)
    assert index.exact and list(perm) == list(range(500))
    q = matrix[7]
    found, scores = index.search(q, 20)
    assert list(found) == list(top(matrix @ q, 20))
    assert np.allclose(scores, (matrix @ q)[found])


def test_the_inverted_file_finds_most_exact_neighbours() -> None:
    matrix = _clustered(20_000)
    index, perm = VectorIndex.build(matrix, ivf_min=0)
    assert not index.exact and index.centroids is not None
    assert index.bounds is not None and index.bounds[-1] == len(matrix)
    assert np.array_equal(index.matrix, matrix[perm])  # rows grouped, none lost
    assert sorted(perm.tolist()) == list(range(len(matrix)))
    rng = np.random.default_rng(9)
    queries = _unit(matrix[rng.integers(0, len(matrix), 50)]
                    + 0.2 * rng.standard_normal((50, matrix.shape[1])))
    hits = 0
    for q in queries:
        found, scores = index.search(q, 100)
        assert list(scores) == sorted(scores, reverse=True)
        assert np.allclose(scores, (matrix[perm[found]] @ q), atol=1e-5)
        hits += len(set(perm[found[:10]].tolist()) & set(top(matrix @ q, 10).tolist()))
    assert hits / (10 * len(queries)) >= 0.9


def test_a_query_asking_for_more_than_the_probed_groups_hold_probes_more() -> None:
    matrix = _clustered(3000)
    index, _ = VectorIndex.build(matrix, ivf_min=0)
    found, _ = index.search(matrix[0], 2900)
    assert len(found) == 2900 and len(set(found.tolist())) == 2900


def test_probing_every_group_is_the_exact_answer() -> None:
    matrix = _clustered(3000)
    index, perm = VectorIndex.build(matrix, ivf_min=0)
    assert index.centroids is not None
    for q in matrix[[3, 500, 2999]]:
        found, _ = index.search(q, 40, probe=len(index.centroids))
        assert list(perm[found]) == list(top(matrix @ q, 40))


def test_a_mask_ranks_only_the_rows_it_keeps() -> None:
    """With a mask, the answer is the best kept rows (exact scan, and the inverted file
    probing every group); a mask keeping fewer than ``k`` rows returns just those."""
    matrix = _clustered(3000)
    keep = np.random.default_rng(5).random(3000) < 0.3
    q = matrix[11]
    expected = list(top(np.where(keep, matrix @ q, -np.inf), 50))
    for ivf_min in (10_000, 0):
        index, perm = VectorIndex.build(matrix, ivf_min=ivf_min)
        found, scores = index.search(q, 50, mask=keep[perm], probe=10_000)
        assert list(perm[found]) == expected
        assert np.allclose(scores, (matrix @ q)[expected])
    few = np.zeros(3000, dtype=bool)
    few[[4, 40, 400]] = True
    found, _ = VectorIndex.build(matrix, ivf_min=10_000)[0].search(q, 50, mask=few)
    assert sorted(found.tolist()) == [4, 40, 400]


def test_a_mask_that_leaves_the_probed_groups_short_probes_more() -> None:
    """One probed group rarely holds 100 of 100 scattered kept rows: the search probes more
    groups until it has ``k`` of them (here: every kept row)."""
    matrix = _clustered(3000)
    index, perm = VectorIndex.build(matrix, ivf_min=0)
    kept = np.random.default_rng(6).choice(3000, 100, replace=False)
    keep = np.zeros(3000, dtype=bool)
    keep[kept] = True
    found, _ = index.search(matrix[0], 100, mask=keep[perm], probe=1)
    assert sorted(perm[found].tolist()) == sorted(kept.tolist())
