"""Conformal p-values and Benjamini–Hochberg flags: exact values, validity, FDR control."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathways.analysis.conformal import (
    best_power_at,
    calibration_split,
    conformal_pvalues,
    decide,
    flag_novel,
    proportion_interval,
    realised_rates,
)

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


def test_calibration_split_takes_the_share_of_each_class_and_only_eligible_samples():
    labels = np.repeat([1, 7, 3], [40, 21, 30])
    eligible = labels != 3
    eligible[:10] = False  # class 1: 30 eligible
    chosen = calibration_split(labels, eligible, 0.5, seed=4)
    assert not (chosen & ~eligible).any()
    assert (chosen & (labels == 1)).sum() == 15 and (chosen & (labels == 7)).sum() == 10
    assert (chosen == calibration_split(labels, eligible, 0.5, seed=4)).all()
    assert (chosen != calibration_split(labels, eligible, 0.5, seed=5)).any()
    with pytest.raises(ValueError, match="calibration share"):
        calibration_split(labels, eligible, 1.0, seed=0)


def test_wilson_interval_of_a_known_proportion():
    low, high = proportion_interval(8, 10)  # Wilson: 0.4902, 0.9433
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert np.isnan(proportion_interval(0, 0)).all()


def test_best_power_picks_the_loosest_threshold_within_the_rate():
    scores = np.array([9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0])
    novel = np.array([True, True, False, True, True, False, True])
    # flag top k: FDP 0, 0, 1/3, 1/4, 1/5, 2/6, 2/7 → at 0.2 the top 5 (4 of 5 novel)
    assert best_power_at(scores, novel, 0.2) == pytest.approx(4 / 5)
    assert best_power_at(scores, novel, 0.1) == pytest.approx(2 / 5)
    # a tie straddling the cut: both or neither
    tie = np.array([5.0, 5.0, 1.0]), np.array([True, False, True])
    assert best_power_at(*tie, 0.3) == 0.0  # top 2: FDP 1/2; all 3: 1/3
    assert best_power_at(*tie, 0.4) == 1.0
    assert best_power_at(scores, novel, 0.01) == pytest.approx(2 / 5)


def test_decide_flags_only_screened_samples_and_reports_what_the_flags_did():
    rng = np.random.default_rng(1)
    novel = np.r_[np.zeros(600, bool), np.ones(100, bool)]
    score = np.where(novel, rng.normal(4, 1, 700), rng.normal(0, 1, 700))
    calibration = np.zeros(700, bool)
    calibration[:300] = True
    screened = ~calibration
    screened[300:350] = False  # neither: a p-value, no flag
    pvalues, flags, rows = decide({"s": score}, calibration, screened, novel, 0.1)
    assert np.isfinite(pvalues["s"]).all() and not flags["s"][~screened].any()
    row = rows[0]
    assert row["screened"] == 350 and row["novel"] == 100 and row["calibration"] == 300
    assert row["flagged"] == flags["s"].sum() > 50
    assert row["fdp"] <= 0.2 and row["fdp_low"] <= row["fdp"] <= row["fdp_high"]
    assert row["power"] <= row["oracle_power"]
    assert row["uncorrected_flagged"] >= row["flagged"]  # BH is never looser than p ≤ α
    _, flags, rows = decide({"s": score}, np.zeros(700, bool), screened, novel, 0.1)
    assert not flags["s"].any() and rows[0]["flagged"] == 0
