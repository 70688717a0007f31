"""Per-topic threshold offsets of the zero-shot topic model, fitted from coarsely labelled
documents instead of set by hand.

Mechanism: the zero-shot model ranks a document's topics by ``lead = cos - threshold``
(:mod:`allsource.process.topics`). Some prototypes win more often than their evidence
warrants — a crime prototype built from "court, police, charged" leads on political and
business reports that mention a court — which shows only on labelled text. Given, per
document, the leads of every topic and which topics count as right (a *coarse* label such
as "business" accepts economic or supply-chain), :func:`fit_offsets` finds one offset per
topic, added to its threshold, that maximises the likelihood of a right topic under a
softmax over ``(lead - offset) / temperature`` — a smooth surrogate of "the best topic is a
right one", so a few noisy documents cannot flip an offset the way a greedy accuracy search
does. An L2 penalty ``strength * mean((offset / temperature)^2)`` keeps offsets near 0
unless the data insist, and each corpus weighs the same whatever its size, so one
publisher's habits do not set every offset.

The fit is not run by the stage: ``benchmarks/topics_calibrate.py`` runs it on the *dev*
halves of the public labelled news of ``benchmarks/topics_news.py`` and prints the values
that :data:`allsource.process.topics.SECTOR_OFFSETS` holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _log_softmax_mass(z: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, log of the softmax mass on the right topics, and its gradient in ``z``."""
    top = z.max(axis=1, keepdims=True)
    e = np.exp(z - top)
    total = e.sum(axis=1)
    mass = np.where(right, e, 0.0).sum(axis=1)
    log_mass = np.log(mass) - np.log(total)
    grad = np.where(right, e / mass[:, None], 0.0) - e / total[:, None]
    return log_mass, grad


def fit_offsets(leads: Sequence[np.ndarray], right: Sequence[np.ndarray],
                temperature: float = 0.03, strength: float = 0.1,
                raise_only: bool = False) -> np.ndarray:
    """One offset per topic (column), to add to each topic's threshold.

    ``leads[k]`` is corpus *k*'s matrix of documents × topics (``cos - threshold``),
    ``right[k]`` the same-shaped boolean matrix of the topics that count as right for each
    document; documents with no right topic (e.g. "no sector") are left out. With
    ``raise_only`` every offset is at least 0: calibration may make a topic harder to
    assign, never easier. Returns zeros when no document is usable."""
    from scipy.optimize import minimize

    parts = []
    for lead, ok in zip(leads, right, strict=True):
        lead = np.asarray(lead, dtype=np.float64)
        ok = np.asarray(ok, dtype=bool)
        keep = ok.any(axis=1) & np.isfinite(lead).all(axis=1)
        if keep.any():
            parts.append((lead[keep], ok[keep]))
    width = next((p[0].shape[1] for p in parts), 0)
    if not parts:
        return np.zeros(np.asarray(leads[0]).shape[1] if len(leads) else 0, dtype=np.float32)

    def loss(offset: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = 0.0, np.zeros(width)
        for lead, ok in parts:
            log_mass, g = _log_softmax_mass((lead - offset) / temperature, ok)
            value -= float(log_mass.mean()) / len(parts)
            # d(-log_mass)/d(offset) = g / temperature (z falls as the offset rises)
            grad += g.sum(axis=0) / (temperature * len(lead) * len(parts))
        value += strength * float(np.mean((offset / temperature) ** 2))
        grad += strength * 2 * offset / (temperature ** 2 * width)
        return value, grad

    bounds = [(0.0, None)] * width if raise_only else None
    found = minimize(loss, np.zeros(width), jac=True, method="L-BFGS-B", bounds=bounds)
    out: np.ndarray = found.x.astype(np.float32)
    return out
