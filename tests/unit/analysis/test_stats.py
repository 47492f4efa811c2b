"""AUROC, FPR@95, effect sizes and FDR, checked against scikit-learn and by hand."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from pathways.analysis.stats import (
    auroc,
    auroc_columns,
    benjamini_hochberg,
    cohens_d,
    fpr_at_tpr,
    mann_whitney_p,
)


@pytest.mark.parametrize("seed", range(5))
def test_auroc_matches_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 8, size=300).astype(float)  # many ties
    positive = rng.random(300) < 0.3
    scores[positive] += rng.integers(0, 3, size=positive.sum())
    assert auroc(scores, positive) == pytest.approx(roc_auc_score(positive, scores), abs=1e-12)


def test_auroc_columns_matches_sklearn_per_column():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.3, 1, (40, 6)), rng.normal(0, 1, (55, 6))
    a[:, 0] = b[:5, 0].mean()  # a constant column
    expected = [
        roc_auc_score(np.r_[np.ones(40), np.zeros(55)], np.r_[a[:, j], b[:, j]]) for j in range(6)
    ]
    np.testing.assert_allclose(auroc_columns(a, b), expected, atol=1e-12)


def test_fpr_at_95_tpr_matches_roc_curve():
    rng = np.random.default_rng(2)
    positive = rng.random(1000) < 0.4
    scores = rng.normal(size=1000) + 1.5 * positive
    fpr, tpr, _ = roc_curve(positive, scores)
    assert fpr_at_tpr(scores, positive, 0.95) == pytest.approx(
        fpr[np.searchsorted(tpr, 0.95)], abs=1e-12
    )


def test_cohens_d_by_hand_and_constant_columns():
    a = np.array([[1.0, 5.0], [3.0, 5.0]])
    b = np.array([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
    pooled = np.sqrt((1 * 2.0 + 2 * 4.0) / 3)
    np.testing.assert_allclose(cohens_d(a, b), [(2.0 - 2.0) / pooled, 0.0])
    np.testing.assert_allclose(cohens_d(a + [1.0, 0.0], b), [1.0 / pooled, 0.0])


def test_benjamini_hochberg_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.20])
    # sorted 0.01, 0.03, 0.04, 0.20 → ×4/1, ×4/2, ×4/3, ×4/4 = 0.04, 0.06, 0.0533, 0.20, then monotone
    np.testing.assert_allclose(
        benjamini_hochberg(p), [0.04, 0.05333333, 0.05333333, 0.20], rtol=1e-6
    )


def test_mann_whitney_all_ties_is_one_not_nan():
    a, b = np.zeros((10, 2)), np.zeros((12, 2))
    b[:, 1] = 1.0
    p = mann_whitney_p(a, b)
    assert p[0] == 1.0 and p[1] < 1e-3


def test_rank_tests_match_scipy_with_ties_and_without():
    from scipy import stats as scipy_stats

    from pathways.analysis.stats import rank_tests

    rng = np.random.default_rng(3)
    a = np.maximum(rng.normal(0.2, 1, (300, 6)), 0)  # ReLU-like: many tied zeros
    b = np.maximum(rng.normal(0.0, 1, (250, 6)), 0)
    a[:, 5], b[:, 5] = np.round(a[:, 5], 1), np.round(b[:, 5], 1)  # coarse ties
    auroc, p = rank_tests(a, b)
    expected = scipy_stats.mannwhitneyu(a, b, axis=0, method="asymptotic")
    np.testing.assert_allclose(p, expected.pvalue, rtol=1e-10)
    np.testing.assert_allclose(auroc, expected.statistic / (300 * 250), rtol=1e-12)
