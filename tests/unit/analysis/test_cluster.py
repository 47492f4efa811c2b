"""Clustering: planted clusters recovered, new samples assigned (never all noise), invariances."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from pathways.analysis.cluster import LayerClusterer, unit_clusters
from pathways.analysis.layers import cluster_purity


def planted(n_per: int, seed: int, dims: int = 40, k: int = 4, spread: float = 0.6):
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(0, 3, (k, dims))
    labels = np.repeat(np.arange(k), n_per)
    values = centres[labels] + rng.normal(0, spread, (len(labels), dims))
    return np.maximum(values, 0).astype(np.float32), labels  # ReLU-like


@pytest.mark.parametrize("method", ["hdbscan", "kmeans"])
def test_planted_clusters_recovered_and_new_samples_assigned(method):
    values, labels = planted(150, seed=0)
    clusterer = LayerClusterer(method=method, n_clusters=4).fit(values)
    assert adjusted_rand_score(labels, clusterer.labels_) >= 0.9
    new_values, new_labels = planted(50, seed=1)
    assigned = clusterer.predict(new_values)
    assert (assigned.cluster >= 0).all()
    assert assigned.outlier.mean() < 0.1
    assert adjusted_rand_score(new_labels, assigned.cluster) >= 0.9


def test_points_far_from_every_cluster_are_assigned_and_flagged():
    values, _ = planted(150, seed=0)
    clusterer = LayerClusterer().fit(values)
    far = values[:20] + 50.0
    assigned = clusterer.predict(far)
    assert (assigned.cluster >= 0).all() and assigned.outlier.all()
    assert (assigned.strength == 0).all()


def test_cluster_ids_by_size_and_sample_order_invariance():
    values, labels = planted(100, seed=2)
    values = np.concatenate([values, planted(40, seed=3, k=1)[0] + 20])  # a small fifth cluster
    first = LayerClusterer().fit(values)
    sizes = np.bincount(first.labels_)
    assert (np.diff(sizes) <= 0).all()
    order = np.random.default_rng(0).permutation(len(values))
    second = LayerClusterer().fit(values[order])
    back = np.empty_like(second.labels_)
    back[order] = second.labels_
    assert adjusted_rand_score(first.labels_, back) >= 0.99


def test_assign_keeps_fit_labels_and_predicts_the_rest():
    values, labels = planted(100, seed=4)
    fit = np.arange(len(values)) % 3 != 0
    clusterer = LayerClusterer().fit(values[fit])
    result = clusterer.assign(values, fit)
    np.testing.assert_array_equal(result.cluster[fit], clusterer.labels_)
    assert adjusted_rand_score(labels, result.cluster) >= 0.9


def test_purity_is_invariant_to_cluster_relabelling():
    rng = np.random.default_rng(5)
    clusters, labels = rng.integers(0, 5, 300), rng.integers(0, 3, 300)
    permuted = np.array([3, 0, 4, 1, 2])[clusters]
    assert cluster_purity(clusters, labels) == cluster_purity(permuted, labels)


def test_unit_groups_follow_co_activation():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(500, 1)), rng.normal(size=(500, 1))
    values = np.hstack(
        [
            a + 0.1 * rng.normal(size=(500, 3)),
            b + 0.1 * rng.normal(size=(500, 2)),
            np.zeros((500, 1)),
        ]
    )
    groups, dead = unit_clusters(values, threshold=0.5)
    assert dead.tolist() == [False] * 5 + [True]
    assert groups[:3].tolist() == [0, 0, 0] and groups[3:5].tolist() == [1, 1] and groups[5] == -1


def test_no_structure_gives_one_cluster_not_a_crash():
    values = np.random.default_rng(7).uniform(size=(60, 3)).astype(np.float32)
    clusterer = LayerClusterer(min_cluster_size=59).fit(values)
    assert clusterer.n_clusters_ >= 1 and (clusterer.labels_ >= 0).all()
    assert (clusterer.predict(values[:5]).cluster >= 0).all()
