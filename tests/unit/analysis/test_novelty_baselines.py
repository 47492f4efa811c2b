"""ASH, SCALE, NAC and CombOOD against known answers worked by hand from the code OpenOOD and the
authors run (see pathways/analysis/novelty_baselines.py), and on planted data."""

from __future__ import annotations

import numpy as np
import pytest

from pathways.analysis.novelty import NoveltyInputs, knn_distance, neighbour_table
from pathways.analysis.novelty_baselines import (
    ash_b,
    combood_combination,
    combood_scores,
    coverage_table,
    kept_units,
    nac_coverage,
    nac_edges,
    nac_scores,
    nac_states,
    scale,
)
from pathways.analysis.stats import auroc

F = np.array([[1.0, 2.0, 3.0, 4.0]])
W = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]])
B = np.zeros(2)


def test_kept_units_round_as_openood():
    assert kept_units(512, 90) == 51 and kept_units(512, 85) == 77 and kept_units(512, 65) == 179
    assert kept_units(4, 90) == 1  # OpenOOD would keep 0 and divide by zero


def test_ash_b_and_scale_known_answers():
    # k = 2 of 4, total 10: ASH-B → [0, 0, 5, 5] → logits [5, 5] → energy 5 + ln 2
    assert ash_b(F, W, B, percentile=50)[0] == pytest.approx(-5.693147, abs=1e-6)
    # SCALE: r = 10 / 7, features × e^r → logits [16.690936, 25.036403]
    assert scale(F, W, B, percentile=50)[0] == pytest.approx(-25.036641, abs=1e-6)


def test_nac_states_and_edges_known_answers():
    x = np.array([[1.0, 0.0, 2.0, 0.5]])
    weights = np.hstack([np.eye(3), np.zeros((3, 1))])
    states = nac_states(x, x @ weights.T, weights, alpha=1.0)
    np.testing.assert_allclose(states, [[0.477863, 0.5, 0.660117, 0.5]], atol=1e-6)
    np.testing.assert_allclose(nac_edges(4), [0.0, 0.5, 1.01, 1.2])
    np.testing.assert_allclose(nac_edges(6), [0.0, 0.404164, 0.5, 0.595836, 1.01, 1.2], atol=1e-6)


def test_nac_coverage_known_answer():
    edges = nac_edges(4)
    train = np.array([[0.2, 0.6], [0.3, 0.6], [0.7, 0.9]])
    table = coverage_table(train, edges, minimum=2)
    np.testing.assert_allclose(table, [[1.0, 0.0], [0.5, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(
        nac_coverage(np.array([[0.1, 0.55], [0.8, 0.4]]), table, edges), [1.0, 0.25]
    )


def test_combood_combination_known_answer():
    # confidence −√n ln d² − D² = −2 ln 0.25 − 1 = 1.772589; the novelty is its negative
    assert combood_combination(np.array([0.25]), np.array([1.0]), 4)[0] == pytest.approx(
        -1.772589, abs=1e-6
    )


def planted_network(seed: int = 0):
    """A ReLU layer feeding a linear output: two trained classes, and an unseen class whose
    activations are larger, spread over other units, than any trained sample's."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1, 2], 300)
    centres = np.zeros((3, 24))
    centres[0, :6], centres[1, 6:12], centres[2, 12:] = 2.0, 2.0, 1.5
    hidden = np.maximum(centres[labels] + rng.normal(0, 0.5, (900, 24)), 0.0)
    weights = rng.normal(0, 1, (2, 24))
    weights[0, :6] += 2.0
    weights[1, 6:12] += 2.0
    logits = hidden @ weights.T + np.array([0.1, -0.1])
    fit = (labels < 2) & (np.arange(900) % 300 < 200)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    paths = np.array(["0"] * 900)
    inputs = NoveltyInputs({"fc": hidden}, logits, probabilities, labels, fit, paths, knn_k=10)
    return inputs, labels, fit


@pytest.mark.parametrize("scores", [nac_scores, combood_scores])
def test_nac_and_combood_find_the_planted_unseen_class(scores):
    inputs, labels, fit = planted_network()
    (score,) = scores(inputs).values()
    test = ~fit
    assert np.isfinite(score).all()
    assert auroc(score[test], labels[test] == 2) > 0.95


def test_one_neighbour_search_serves_every_k_bit_for_bit():
    """The last hidden layer is searched once, for the most neighbours any score asks (CombOOD's
    50): the kNN baseline's k = 10 read from it is exactly a search for 10."""
    inputs, _, fit = planted_network()
    wide = NoveltyInputs(**{**inputs.__dict__, "widest_k": 50, "_memo": {}})
    hidden = wide.hidden["fc"]
    assert np.array_equal(
        neighbour_table(hidden, fit, 50)[:, :11], neighbour_table(hidden, fit, 10)
    )
    assert np.array_equal(wide.knn("fc"), knn_distance(hidden, fit, 10))
    assert np.array_equal(wide.knn("fc", 50), knn_distance(hidden, fit, 50))
    tables = [v for k, v in wide._memo.items() if k[0] == "neighbours"]
    assert len(tables) == 1 and tables[0].shape[1] == 51  # searched once
    narrow = NoveltyInputs(**{**inputs.__dict__, "_memo": {}})  # not told: searches again
    narrow.knn("fc")
    assert np.array_equal(narrow.knn("fc", 50), wide.knn("fc", 50))
