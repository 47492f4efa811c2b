"""The vectorised HDBSCAN assignment gives exactly hdbscan's own labels and probabilities."""

from __future__ import annotations

import hdbscan
import numpy as np
import pytest

from pathways.analysis.cluster_assign import approximate_predict


def _nested(rng: np.random.Generator) -> np.ndarray:
    """Blobs inside blobs (a deep condensed tree), a wide one and a few strays."""
    parts = [
        rng.normal(0.0, 0.2, (150, 4)),
        rng.normal(0.8, 0.2, (150, 4)),  # a sibling of the first inside one parent cluster
        rng.normal(5.0, 0.5, (200, 4)),
        rng.normal(5.0, 0.05, (60, 4)),  # a dense core inside the wide one
        rng.uniform(-4, 9, (40, 4)),
    ]
    return np.concatenate(parts)


@pytest.mark.parametrize(("min_cluster_size", "min_samples"), [(10, 5), (25, 3), (5, 10)])
def test_the_same_labels_and_probabilities_as_hdbscan(min_cluster_size, min_samples):
    rng = np.random.default_rng(min_cluster_size)
    fitted = _nested(rng)
    model = hdbscan.HDBSCAN(
        min_cluster_size=min_cluster_size, min_samples=min_samples, prediction_data=True
    ).fit(fitted)
    assert model.labels_.max() >= 2  # several clusters: the walk up the tree is exercised
    near = fitted[rng.integers(0, len(fitted), 500)] + rng.normal(0, 0.02, (500, 4))
    far = rng.uniform(-10, 15, (500, 4))
    points = np.concatenate([near, far, fitted[:50]])  # fitted points too: distance 0
    labels, probabilities = hdbscan.approximate_predict(model, points)
    ours_labels, ours_probabilities = approximate_predict(model, points)
    assert np.array_equal(ours_labels, labels)
    assert np.array_equal(ours_probabilities, probabilities)
    assert (labels == -1).any() and (labels >= 0).any()  # both kinds of answer compared


def test_a_clustering_without_clusters_answers_noise():
    rng = np.random.default_rng(0)
    model = hdbscan.HDBSCAN(min_cluster_size=60, min_samples=5, prediction_data=True).fit(
        rng.uniform(size=(100, 3))
    )
    assert model.prediction_data_.cluster_tree.shape[0] == 0  # the case being tested
    labels, probabilities = approximate_predict(model, rng.uniform(size=(7, 3)))
    assert labels.tolist() == [-1] * 7 and probabilities.tolist() == [0.0] * 7
