"""The counting helper of bounded-work tests catches quadratic work and passes linear work."""

from __future__ import annotations

import pytest

from tests.steps import assert_linear, count_calls


def _linear(text: str) -> int:
    return sum(1 for ch in text if ch.isalpha())


def _quadratic(text: str) -> int:
    return sum(1 for i in range(len(text)) for _ in range(i) if text[i].isalpha())


def test_counts_calls() -> None:
    assert count_calls(lambda: [abs(i) for i in range(100)]) >= 100


def test_linear_work_passes() -> None:
    assert_linear(lambda n: "ab" * (n // 2), _linear, 1_000)


def test_quadratic_work_fails() -> None:
    with pytest.raises(AssertionError, match="grew"):
        assert_linear(lambda n: "ab" * (n // 2), _quadratic, 300)
