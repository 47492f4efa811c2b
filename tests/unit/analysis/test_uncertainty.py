"""Bootstrap intervals of AUROC and FPR at 95 % TPR, and per-unseen-class novelty metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from pathways.analysis.novelty_evaluation import evaluate, evaluate_by_class, score_differences
from pathways.analysis.stats import auroc, fpr_at_tpr
from pathways.analysis.uncertainty import (
    auroc_resampled,
    fpr_resampled,
    interval,
    metrics_resampled,
    stratified_resamples,
)


def _scores(n_pos: int, n_neg: int, shift: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(shift, 1, n_pos), rng.normal(0, 1, n_neg)


def test_each_resample_is_the_statistic_of_its_own_draw():
    pos, neg = _scores(40, 60, 1.0)
    draws = stratified_resamples(len(pos), len(neg), 20, seed=3)
    assert draws.positives.shape == (20, 40) and draws.negatives.shape == (20, 60)
    aurocs, fprs = auroc_resampled(pos, neg, draws), fpr_resampled(pos, neg, draws)
    for k in range(20):
        p, n = pos[draws.positives[k]], neg[draws.negatives[k]]
        truth = np.r_[np.ones(40), np.zeros(60)]
        assert aurocs[k] == pytest.approx(roc_auc_score(truth, np.r_[p, n]))
        assert fprs[k] == pytest.approx(fpr_at_tpr(np.r_[p, n], truth.astype(bool)))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 6), min_size=1, max_size=30),
    st.lists(st.integers(0, 6), min_size=1, max_size=30),
    st.integers(1, 20),
    st.integers(0, 2**16),
    st.sampled_from([0.5, 0.9, 0.95, 1.0]),
)
def test_counted_metrics_equal_each_draws_own_statistics(pos, neg, n, seed, tpr):
    """Tied scores (few distinct values), groups of one, resamples across chunks of 8: each
    resample's AUROC is the rank statistic of its own draw to the last bits, its FPR exactly."""
    pos, neg = np.asarray(pos, float) / 3, np.asarray(neg, float) / 3
    draws = stratified_resamples(len(pos), len(neg), n, seed)
    aurocs, fprs = metrics_resampled(pos, neg, draws, tpr)
    truth = np.r_[np.ones(len(pos), bool), np.zeros(len(neg), bool)]
    for k in range(n):
        values = np.r_[pos[draws.positives[k]], neg[draws.negatives[k]]]
        assert aurocs[k] == pytest.approx(auroc(values, truth), abs=1e-15)
        assert fprs[k] == fpr_at_tpr(values, truth, tpr)


def test_intervals_cover_the_truth_about_as_often_as_they_claim():
    # AUROC of N(1, 1) against N(0, 1) is Φ(1/√2) ≈ 0.760; 95 % intervals from 60 fresh samples
    truth, covered = 0.7602, 0
    for seed in range(60):
        pos, neg = _scores(100, 200, 1.0, seed)
        low, high = interval(auroc_resampled(pos, neg, stratified_resamples(100, 200, 500, seed)))
        covered += low <= truth <= high
    assert 50 <= covered <= 60  # nominal 57 of 60


def test_intervals_are_seeded_and_narrow_with_more_samples():
    small = _scores(50, 100, 1.0)
    large = _scores(2000, 4000, 1.0)
    a = interval(auroc_resampled(*small, stratified_resamples(50, 100, 500, seed=1)))
    b = interval(auroc_resampled(*small, stratified_resamples(50, 100, 500, seed=1)))
    c = interval(auroc_resampled(*large, stratified_resamples(2000, 4000, 500, seed=1)))
    assert a == b
    assert (c[1] - c[0]) < (a[1] - a[0]) / 4


def test_per_class_metrics_and_paired_differences():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 6, 8, 9], 100)
    unseen = np.isin(labels, [8, 9])
    test = np.tile(np.r_[np.zeros(50, bool), np.ones(50, bool)], 4)
    # class 8 is easy to spot, class 9 hard; "weak" is a noisier copy of "good"
    good = (
        rng.normal(0, 1, len(labels))
        + np.where(labels == 8, 3.0, 0)
        + np.where(labels == 9, 0.5, 0)
    )
    weak = good + rng.normal(0, 2, len(labels))
    scores = {"good": good, "weak": weak}
    by_class = evaluate_by_class(scores, labels, unseen, test, bootstrap=500, seed=0)
    for u in (8, 9):
        part = test & (~unseen | (labels == u))
        for method, values in scores.items():
            row = by_class[(by_class.unseen_class == u) & (by_class.method == method)].iloc[0]
            assert row["auroc"] == pytest.approx(roc_auc_score(labels[part] == u, values[part]))
            assert row["auroc_low"] <= row["auroc"] <= row["auroc_high"]
            assert row["n_unseen"] == 50 and row["n_trained"] == 100
    aurocs = by_class[by_class.method == "good"].set_index("unseen_class")["auroc"]
    assert aurocs[8] > 0.95 > 0.75 > aurocs[9]  # distinct per class, not pooled
    pooled = evaluate(scores, unseen, test, bootstrap=500).set_index("method")
    assert pooled.loc["good", "auroc"] == pytest.approx(auroc(good[test], unseen[test]))
    assert aurocs[9] < pooled.loc["good", "auroc"] < aurocs[8]
    diff = score_differences(scores, "good", labels, unseen, test, bootstrap=500)
    assert set(diff["method"]) == {"weak"} and diff["unseen_class"].isna().sum() == 1
    for _, row in diff.iterrows():
        scope = (
            test & (~unseen | (labels == row["unseen_class"]))
            if pd.notna(row["unseen_class"])
            else test
        )
        expected = auroc(good[scope], unseen[scope]) - auroc(weak[scope], unseen[scope])
        assert row["auroc_difference"] == pytest.approx(expected)
        assert (
            row["auroc_difference_low"] <= row["auroc_difference"] <= row["auroc_difference_high"]
        )
    easy = diff[diff.unseen_class == 8].iloc[0]
    assert easy["auroc_difference_low"] > 0  # paired: the noisier copy is surely worse on 8


def test_vim_recovers_the_output_layer_and_scores_the_residual():
    from pathways.analysis.novelty import vim, vim_principal_dim

    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    # train features vary mostly along 3 of 6 directions; logits are a linear read-out
    scale = np.array([2.0, 2.0, 2.0, 0.05, 0.05, 0.05])
    train = (rng.normal(size=(300, 6)) * scale) @ basis.T
    off = (rng.normal(size=(20, 6)) * scale) @ basis.T + 3.0 * basis[:, 5]  # off the main span
    x = np.vstack([train, off])
    w, b = rng.normal(size=(2, 6)), np.array([0.3, -0.2])
    logits = x @ w.T + b
    fit = np.r_[np.ones(300, bool), np.zeros(20, bool)]
    score = vim(x, logits, fit)
    assert vim_principal_dim(6) == 3 and vim_principal_dim(800) == 512
    # by the paper's definition, with the true W, b
    origin = -np.linalg.pinv(w) @ b
    centred = train - origin
    _, vectors = np.linalg.eigh(centred.T @ centred / 300)
    residual = np.linalg.norm((x - origin) @ vectors[:, :3], axis=1)
    alpha = logits[:300].max(1).mean() / residual[:300].mean()
    expected = alpha * residual - np.log(np.exp(logits).sum(1))
    np.testing.assert_allclose(score, expected, rtol=1e-6, atol=1e-6)
    assert score[300:].min() > np.quantile(score[:300], 0.99)  # the off-span points stand out
