"""Per-topic threshold offsets fitted from coarsely labelled documents (synthetic leads
with a known bias, so what the fit must find is known)."""

from __future__ import annotations

import numpy as np

from allsource.process.topic_calibration import _log_softmax_mass, fit_offsets


def _corpus(n: int, bias: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Documents of three topics: the right topic leads by 0.04 on average, noise 0.03,
    and ``bias`` is added to every document's leads (a prototype near everything)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    right = np.eye(3, dtype=bool)[truth]
    leads = rng.normal(0.0, 0.03, (n, 3)) + 0.04 * right + bias
    return leads, right


def _accuracy(leads: np.ndarray, right: np.ndarray, offsets: np.ndarray) -> float:
    best = np.argmax(leads - offsets, axis=1)
    return float(right[np.arange(len(right)), best].mean())


def test_a_topic_that_leads_everywhere_gets_a_higher_threshold() -> None:
    bias = np.array([0.0, 0.0, 0.05])
    leads, right = _corpus(600, bias, 1)
    offsets = fit_offsets([leads], [right])
    assert offsets[2] > offsets[0] + 0.02 and offsets[2] > offsets[1] + 0.02
    fresh, fresh_right = _corpus(600, bias, 2)  # judged on documents the fit never saw
    assert (_accuracy(fresh, fresh_right, offsets)
            > _accuracy(fresh, fresh_right, np.zeros(3)) + 0.1)


def test_unbiased_topics_keep_offsets_near_zero() -> None:
    leads, right = _corpus(600, np.zeros(3), 3)
    assert np.abs(fit_offsets([leads], [right])).max() < 0.005


def test_a_stronger_penalty_keeps_offsets_smaller() -> None:
    leads, right = _corpus(300, np.array([0.0, 0.0, 0.05]), 4)
    weak = fit_offsets([leads], [right], strength=0.01)
    strong = fit_offsets([leads], [right], strength=1.0)
    assert np.abs(strong).sum() < np.abs(weak).sum()


def test_each_corpus_weighs_the_same_whatever_its_size() -> None:
    a, a_right = _corpus(200, np.array([0.0, 0.0, 0.05]), 5)
    b, b_right = _corpus(100, np.array([0.05, 0.0, 0.0]), 6)
    once = fit_offsets([a, b], [a_right, b_right])
    doubled = fit_offsets([np.vstack([a, a]), b], [np.vstack([a_right, a_right]), b_right])
    assert np.allclose(once, doubled, atol=1e-3)
    # and both biases are corrected, not only the bigger corpus's
    assert once[2] > once[1] and once[0] > once[1]


def test_documents_without_a_right_topic_take_no_part() -> None:
    leads, right = _corpus(300, np.array([0.0, 0.0, 0.05]), 7)
    none = np.zeros((50, 3), dtype=bool)
    noise = np.random.default_rng(8).normal(0.0, 0.03, (50, 3)) + np.array([0.2, 0.0, 0.0])
    with_none = fit_offsets([np.vstack([leads, noise])], [np.vstack([right, none])])
    assert np.allclose(with_none, fit_offsets([leads], [right]), atol=1e-5)
    assert not fit_offsets([noise], [none]).any()


def test_the_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(9)
    z = rng.normal(0, 1, (4, 3))
    right = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1], [1, 1, 0]], dtype=bool)
    value, grad = _log_softmax_mass(z, right)
    for j in range(3):
        step = np.zeros(3)
        step[j] = 1e-6
        numeric = (_log_softmax_mass(z + step, right)[0] - value) / 1e-6
        assert np.allclose(numeric, grad[:, j], atol=1e-4)
