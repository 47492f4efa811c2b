"""Novelty scores on planted data, the baselines' formulas, and stability on identical seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp, softmax
from sklearn.metrics import roc_auc_score

from pathways.analysis.novelty import (
    NoveltyInputs,
    energy,
    fisher_combination,
    knn_distance,
    mahalanobis,
    msp,
    path_rarity,
    relative_mahalanobis,
    signature_knn_path_scores,
    signature_knn_scores,
    signature_path_scores,
    signature_score,
    tail_probability,
)
from pathways.analysis.novelty_evaluation import evaluate
from pathways.analysis.novelty_scores import NOVELTY_SCORES, score_kind
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
    score = signature_score(layers, labels, fit, paths=paths)
    test = split
    assert roc_auc_score(labels[test] == 3, score[test]) > 0.95
    # calibrated against the fitted samples: their p-values are roughly uniform
    assert np.median(score[fit]) < np.median(score[test & (labels == 3)])


def test_signature_score_is_fisher_over_every_layers_distances_and_the_path():
    layers, labels, split, fit = planted_layers()
    paths = np.where(labels == 3, "0>1", np.where(labels == 1, "0>0", "1>1"))
    score = signature_score(layers, labels, fit, knn_k=5, paths=paths)
    assert roc_auc_score(labels[split] == 3, score[split]) > 0.95
    # known answer, written out: -2 Σ log p over (Mahalanobis, kNN) of each layer and the path
    components = [mahalanobis(v, labels, fit) for v in layers.values()]
    components += [knn_distance(v, fit, 5) for v in layers.values()]
    components.append(path_rarity(paths, fit))
    expected = np.zeros(len(labels))
    for component in components:
        at_least = (component[fit][None, :] >= component[:, None]).sum(axis=1)
        expected += -2 * np.log((1 + at_least) / (1 + fit.sum()))
    np.testing.assert_allclose(score, expected)
    # the stage's forms (distances computed once, shared with the baselines) give the same
    inputs = NoveltyInputs(
        layers, np.zeros((len(labels), 2)), np.full((len(labels), 2), 0.5), labels, fit, paths, 5
    )
    np.testing.assert_allclose(signature_knn_path_scores(inputs)["signature_knn_path"], score)
    np.testing.assert_allclose(
        signature_knn_scores(inputs)["signature_knn"],
        signature_score(layers, labels, fit, knn_k=5),
    )
    np.testing.assert_allclose(
        signature_path_scores(inputs)["signature_path"],
        signature_score(layers, labels, fit, paths=paths),
    )


def test_fisher_combination_of_one_component_orders_as_the_component():
    rng = np.random.default_rng(3)
    component = rng.normal(size=200)
    fit = np.arange(200) < 150
    combined = fisher_combination([component], fit)
    order = np.argsort(component[~fit])
    assert np.all(np.diff(combined[~fit][order]) >= 0)  # monotone in the component
    # against its own fitted samples, p is about uniform: -2 log p has mean about 2
    assert combined[fit].mean() == pytest.approx(2.0, abs=0.3)


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


def test_relative_mahalanobis_is_the_class_term_minus_the_background_term_by_hand():
    layers, labels, split, fit = planted_layers()
    x = layers["fc2"].astype(np.float64)
    from sklearn.covariance import EmpiricalCovariance

    # OpenOOD's RMDS: sklearn's EmpiricalCovariance for both terms, smallest class distance
    means = np.stack([x[fit & (labels == c)].mean(0) for c in (1, 7)])
    centred = np.concatenate([x[fit & (labels == c)] - means[i] for i, c in enumerate((1, 7))])
    within = EmpiricalCovariance(assume_centered=False).fit(centred)
    class_term = np.stack([within.mahalanobis(x - m + centred.mean(0)) for m in means]).min(0)
    whole = EmpiricalCovariance().fit(x[fit])
    expected = class_term - whole.mahalanobis(x)
    np.testing.assert_allclose(relative_mahalanobis(x, labels, fit), expected, rtol=1e-6, atol=1e-6)
    # It separates the planted unseen class from trained test samples (it does not invert).
    test = split
    score = relative_mahalanobis(x, labels, fit)
    assert roc_auc_score(labels[test] == 3, score[test]) > 0.9


def test_every_registered_score_loads_and_scores_every_sample():
    from pathways.analysis.novelty import NoveltyInputs

    layers, labels, split, fit = planted_layers()
    logits = np.stack([layers["fc2"][:, 0], layers["fc2"][:, 1]], axis=1)
    inputs = NoveltyInputs(
        layers, logits, softmax(logits, axis=1), labels, fit, np.array(["0>1"] * len(labels)), 5
    )
    for name, score in NOVELTY_SCORES.items():
        computed = score.load()(inputs)
        assert computed and all(v.shape == labels.shape for v in computed.values()), name
        assert all(np.isfinite(v).all() for v in computed.values()), name
        assert {score_kind(m) for m in computed} == {score.kind}
    assert [s.kind for s in NOVELTY_SCORES.values()].count("ours") == 1


def test_no_unseen_class_gives_metrics_without_an_oracle_row():
    from pathways.analysis.novelty_evaluation import evaluate, with_notes_and_oracle

    layers, labels, split, fit = planted_layers()
    scores = {f"mahalanobis:{n}": mahalanobis(v, labels, fit) for n, v in layers.items()}
    metrics = with_notes_and_oracle(evaluate(scores, np.zeros(len(labels), bool), split), "fc2")
    assert metrics["kind"].tolist() == ["baseline", "baseline"] and metrics["auroc"].isna().all()
