"""Novelty scores on planted data, the baselines' formulas, and stability on identical seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp, softmax
from sklearn.metrics import roc_auc_score

from pathways.analysis.novelty import (
    energy,
    evaluate,
    knn_distance,
    mahalanobis,
    msp,
    path_rarity,
    signature_path_score,
    tail_probability,
)
from pathways.analysis.stability import stability_tables


def planted_layers(seed: int = 0):
    """Two trained classes, one unseen class that sits between them in a new direction."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([1, 7, 3], 200)
    split = np.tile(np.r_[np.zeros(150, bool), np.ones(50, bool)], 3)  # True = test
    layers = {}
    for name, dims in (("fc1", 30), ("fc2", 10)):
        centres = {1: rng.normal(0, 2, dims), 7: rng.normal(0, 2, dims)}
        centres[3] = (centres[1] + centres[7]) / 2 + rng.normal(0, 1.5, dims)
        layers[name] = np.stack([centres[c] for c in labels]) + rng.normal(
            0, 1, (len(labels), dims)
        )
    fit = (labels != 3) & ~split
    return layers, labels, split, fit


def test_signature_path_score_finds_the_planted_unseen_class():
    layers, labels, split, fit = planted_layers()
    paths = np.where(labels == 3, "0>1", np.where(labels == 1, "0>0", "1>1"))
    score = signature_path_score(layers, paths, labels, fit)
    test = split
    assert roc_auc_score(labels[test] == 3, score[test]) > 0.95
    # calibrated against the fitted samples: their p-values are roughly uniform
    assert np.median(score[fit]) < np.median(score[test & (labels == 3)])


def test_baseline_formulas():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(20, 3))
    np.testing.assert_allclose(
        msp(softmax(logits, axis=1)), 1 - softmax(logits, axis=1).max(axis=1)
    )
    np.testing.assert_allclose(energy(logits), -logsumexp(logits, axis=1))


def test_mahalanobis_and_knn_behave():
    layers, labels, split, fit = planted_layers(2)
    maha = mahalanobis(layers["fc1"], labels, fit)
    assert maha[labels == 3].mean() > 2 * maha[fit].mean()
    values = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [-1.0, 0.0]])
    knn = knn_distance(values, np.array([True, True, True, False]), k=1)
    assert knn[0] == pytest.approx(
        np.linalg.norm(values[0] - values[2] / np.linalg.norm(values[2]))
    )
    assert knn[3] > knn[0]


def test_tail_probability_and_path_rarity():
    reference = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(
        tail_probability(np.array([0.0, 2.5, 9.0]), reference), [1.0, 3 / 5, 1 / 5]
    )
    paths = np.array(["a", "a", "a", "b", "c"])
    rarity = path_rarity(paths, np.array([True, True, True, True, False]))
    assert rarity[0] < rarity[3] < rarity[4]


def test_evaluate_matches_sklearn():
    rng = np.random.default_rng(3)
    unseen = rng.random(200) < 0.3
    score = rng.normal(size=200) + unseen
    on = rng.random(200) < 0.7
    table = evaluate({"s": score}, unseen, on)
    assert table.loc[0, "auroc"] == pytest.approx(roc_auc_score(unseen[on], score[on]))
    assert table.loc[0, "n_unseen"] == (unseen & on).sum()


def test_stability_of_identical_runs_is_perfect():
    rng = np.random.default_rng(4)
    labels = np.repeat([1, 7], 50)
    clusters = pd.DataFrame({"fc1": labels == 7, "fc2": rng.integers(0, 3, 100)}).astype(int)
    divergence = pd.DataFrame(
        {
            "layer": ["fc1", "fc2"],
            "depth": [0, 1],
            "class_a": 1,
            "class_b": 7,
            "probe_accuracy": [1.0, 1.0],
            "cluster_purity": [1.0, 0.6],
        }
    )
    relabelled = clusters.assign(fc2=(clusters["fc2"] + 1) % 3)
    tables = stability_tables(
        {0: (clusters, divergence, labels), 1: (relabelled, divergence, labels)}, 0.99, 0.9
    )
    assert (tables["cluster_agreement"]["ari"] == 1.0).all()
    assert tables["path_agreement"]["path_ari"].item() == 1.0
    assert (tables["dominant_path_agreement"]["jaccard"] == 1.0).all()
    assert tables["divergence_agreement"]["same_divergence_layer"].all()
    assert set(tables["divergence_by_seed"]["divergence_layer"]) == {"fc1"}
