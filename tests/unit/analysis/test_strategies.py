"""Spectral relevance analysis on maps whose strategies are known."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from pathways.analysis.strategies import (
    _merged,
    attended_region,
    downsized,
    features,
    hdbscan_strategies,
    path_agreement,
    region_shares,
    spectral_strategies,
)


def _maps(
    groups: list[tuple[int, int]], n: int, seed: int = 0, jitter: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy 28 × 28 maps per group, each group's evidence in a 6 × 6 square at (row,
    col), moved by up to ``jitter`` pixels; and the true group of each map."""
    rng = np.random.default_rng(seed)
    maps, truth = [], []
    for g, (row, col) in enumerate(groups):
        for _ in range(n):
            m = rng.normal(0, 0.05, (28, 28))
            r, c = row + rng.integers(-jitter, jitter + 1), col + rng.integers(-jitter, jitter + 1)
            m[max(r, 0) : r + 6, max(c, 0) : c + 6] += rng.uniform(0.5, 1.5)
            maps.append(m)
            truth.append(g)
    return np.array(maps), np.array(truth)


@pytest.mark.parametrize("side", [7, 10, 13])
def test_downsizing_matches_adaptive_average_pooling(side: int) -> None:
    maps = np.random.default_rng(1).normal(size=(5, 28, 28))
    expected = torch.nn.functional.adaptive_avg_pool2d(torch.tensor(maps)[:, None], side)
    assert np.allclose(downsized(maps, side), expected[:, 0].numpy())


def test_three_planted_strategies_are_found_by_the_eigengap() -> None:
    maps, truth = _maps([(2, 2), (20, 20), (2, 20)], 40)
    found = spectral_strategies(features(maps, 14), max_strategies=8)
    assert found.k == 3
    assert adjusted_rand_score(truth, found.labels) == 1.0
    assert found.embedding.shape == (120, 2)
    assert np.all(np.diff(found.eigenvalues) >= -1e-9)


def test_one_kind_of_map_is_one_strategy() -> None:
    maps, _ = _maps([(11, 11)], 120, jitter=0)
    assert spectral_strategies(features(maps, 14)).k == 1
    moved, _ = _maps([(11, 11)], 120, jitter=4)  # evidence anywhere in a 14-pixel square
    assert spectral_strategies(features(moved, 14)).k > 1


def test_hdbscan_finds_the_planted_strategies_too() -> None:
    maps, truth = _maps([(2, 2), (20, 20)], 40)
    found = hdbscan_strategies(features(maps, 14), min_size=10)
    assert found.k == 2
    assert adjusted_rand_score(truth[found.labels >= 0], found.labels[found.labels >= 0]) == 1.0


def test_a_strategy_split_in_two_is_merged_and_two_strategies_are_not() -> None:
    maps, truth = _maps([(2, 2), (20, 20)], 40, jitter=0)
    points = features(maps, 14)
    halves = np.where(truth == 0, np.arange(80) % 2, 2)  # group 0 cut at random into 0 and 1
    merged = _merged(points, halves, 10, 8)
    assert len(set(merged.tolist())) == 2
    assert adjusted_rand_score(truth, merged) == 1.0


def test_strategies_are_numbered_by_size() -> None:
    maps, truth = _maps([(2, 2), (20, 20)], 30)
    maps = np.concatenate([maps, _maps([(2, 20)], 15, seed=3)[0]])
    sizes = np.bincount(spectral_strategies(features(maps, 14)).labels)
    assert list(sizes) == sorted(sizes, reverse=True)


def test_the_region_a_strategy_attends_to_is_named() -> None:
    maps, truth = _maps([(21, 1), (11, 11)], 20)
    shares = region_shares(maps)
    assert np.allclose(shares.sum((1, 2)), 1.0)
    region, mine, theirs = attended_region(shares[truth == 0], shares[truth == 1])
    assert region == "lower-left corner"
    assert mine > 0.5 > theirs


def test_path_agreement_matches_scikit_learn_and_tells_agreement_from_chance() -> None:
    rng = np.random.default_rng(0)
    strategies = rng.integers(0, 3, 300)
    paths = np.where(rng.random(300) < 0.8, strategies, rng.integers(0, 4, 300)).astype(str)
    found = path_agreement(strategies, paths, permutations=199)
    assert found["nmi"] == pytest.approx(normalized_mutual_info_score(strategies, paths))
    assert found["ari"] == pytest.approx(adjusted_rand_score(strategies, paths))
    assert found["nmi_p_value"] == pytest.approx(1 / 200)
    unrelated = path_agreement(strategies, rng.integers(0, 4, 300).astype(str), permutations=199)
    assert unrelated["nmi_p_value"] > 0.05


def test_one_path_or_one_strategy_leaves_nothing_to_compare() -> None:
    found = path_agreement(np.zeros(10, int), np.array(["0>1"] * 10))
    assert np.isnan(found["nmi"]) and np.isnan(found["nmi_p_value"])
