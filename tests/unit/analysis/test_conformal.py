"""Conformal p-values and Benjamini–Hochberg flags: exact values, validity, FDR control."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathways.analysis.conformal import conformal_pvalues, flag_novel, realised_rates

finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(finite, min_size=1, max_size=40), st.lists(finite, min_size=0, max_size=40))
def test_pvalues_count_the_calibration_scores_at_least_as_high(calibration, scores):
    found = conformal_pvalues(np.array(calibration), np.array(scores))
    expected = [(1 + sum(c >= s for c in calibration)) / (len(calibration) + 1) for s in scores]
    np.testing.assert_allclose(found, expected)


def test_a_trained_class_sample_gets_a_valid_pvalue():
    """Exchangeable with the calibration set: P(p ≤ t) ≤ t, and not far below (n = 19: the
    p-values are exactly uniform on 1/20 … 20/20)."""
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(20_000, 20))
    p = np.array([conformal_pvalues(row[:19], row[19:])[0] for row in draws])
    for t in (0.05, 0.1, 0.25, 0.5):
        share = (p <= t).mean()
        assert share <= t + 3 * np.sqrt(t * (1 - t) / len(p))
        assert share >= t - 0.05 - 3 * np.sqrt(t * (1 - t) / len(p))


def test_benjamini_hochberg_on_a_known_answer():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.5])  # thresholds k/5 · alpha
    assert flag_novel(p, 0.05).tolist() == [True, True, False, False, False]
    assert flag_novel(p, 0.1).tolist() == [True, True, True, True, False]
    # step-up: the largest k with p_(k) ≤ k/m · alpha rejects every smaller one too
    assert flag_novel(np.array([0.001, 0.045, 0.046, 0.047]), 0.05).all()
    assert flag_novel(np.array([0.04, 0.9]), 0.05).tolist() == [False, False]  # 0.04 > 0.025
    assert flag_novel(np.array([]), 0.1).tolist() == []


def test_the_false_discovery_rate_stays_at_its_target_on_average():
    """Calibration and 90 test samples from the trained distribution, 10 novel ones shifted:
    over 400 repetitions the mean false discovery proportion is at most alpha (BH gives
    alpha · 90/100 here) within sampling error, and the novel samples are found."""
    rng = np.random.default_rng(1)
    alpha, fdps, powers = 0.1, [], []
    for _ in range(400):
        calibration = rng.normal(size=200)
        scores = np.concatenate([rng.normal(size=90), rng.normal(3.0, 1.0, size=10)])
        novel = np.arange(100) >= 90
        fdp, power = realised_rates(
            flag_novel(conformal_pvalues(calibration, scores), alpha), novel
        )
        fdps.append(fdp)
        powers.append(power)
    se = np.std(fdps) / np.sqrt(len(fdps))
    assert np.mean(fdps) <= alpha + 2 * se
    assert np.mean(fdps) > 0.02  # it does use its budget: not a test that cannot fail
    assert np.mean(powers) > 0.3


def test_rates_and_errors():
    assert realised_rates(np.array([True, True, False]), np.array([True, False, True])) == (
        0.5,
        0.5,
    )
    fdp, power = realised_rates(np.array([False]), np.array([False]))
    assert fdp == 0.0 and np.isnan(power)
    with pytest.raises(ValueError, match="at least one calibration"):
        conformal_pvalues(np.array([]), np.array([1.0]))
    with pytest.raises(ValueError, match="NaN"):
        conformal_pvalues(np.array([1.0]), np.array([np.nan]))
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        flag_novel(np.array([0.1]), 1.5)
