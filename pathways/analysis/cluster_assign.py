"""HDBSCAN's approximate prediction for many samples at once.

``hdbscan.approximate_predict`` finds each new sample's neighbours in one vectorised query,
then walks the condensed tree point by point in Python: 6 s of the 10 s clustering step for
58,800 samples of one 70,000-sample layer. :func:`approximate_predict` takes the same steps
for every sample together, as array operations — the nearest mutual-reachability neighbour,
the sample's lambda, the walk up the cluster tree (one step for all samples at a time) and the
membership probability — and gives exactly hdbscan's labels and probabilities (tested against
it). It reads the same fitted state hdbscan's own function reads.
"""

from __future__ import annotations

import numpy as np


def _by_id(ids: np.ndarray, values: np.ndarray, size: int, fill: float) -> np.ndarray:
    """values[i] placed at position ids[i] of an array of ``size`` (``fill`` elsewhere)."""
    out = np.full(size, fill, dtype=np.result_type(values, np.float64))
    out[ids] = values
    return out


def approximate_predict(model, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """int32 labels (of ``model``'s clustering, -1: noise) and float64 membership
    probabilities of ``points``: :func:`hdbscan.approximate_predict`, vectorised."""
    data = model.prediction_data_
    n = len(points)
    if data.cluster_tree.shape[0] == 0:  # no cluster: everything is noise
        return np.full(n, -1, dtype=np.int32), np.zeros(n)
    min_samples = model.min_samples or model.min_cluster_size
    distances, indices = data.tree.query(np.asarray(points), k=2 * min_samples)
    # the nearest neighbour in mutual reachability distance, and the sample's lambda there
    reach = np.maximum(
        np.maximum(data.core_distances[indices], distances[:, min_samples][:, None]), distances
    )
    rows = np.arange(n)
    best = reach.argmin(axis=1)
    nearest, closest = indices[rows, best], reach[rows, best]
    lambdas = np.full(n, np.finfo(np.double).max)
    np.divide(1.0, closest, out=lambdas, where=closest > 0.0)
    # where the neighbour sits in the condensed tree, then up the clusters the sample's
    # lambda reaches
    tree = model.condensed_tree_._raw_tree
    size = int(max(tree["child"].max(), tree["parent"].max())) + 1
    parent_of = _by_id(tree["child"], tree["parent"], size, -1).astype(np.int64)
    lambda_of = _by_id(tree["child"], tree["lambda_val"], size, np.nan)
    clusters = data.cluster_tree
    root = int(clusters["parent"].min())
    is_cluster = np.zeros(size, dtype=bool)
    is_cluster[clusters["child"]] = True
    cluster_parent = _by_id(clusters["child"], clusters["parent"], size, -1).astype(np.int64)
    cluster_lambda = _by_id(clusters["child"], clusters["lambda_val"], size, np.nan)
    potential = parent_of[nearest]
    climbing = lambda_of[nearest] > lambdas
    while True:
        climbing &= potential > root
        climbing[climbing] &= is_cluster[potential[climbing]]
        climbing[climbing] &= cluster_lambda[potential[climbing]] >= lambdas[climbing]
        if not climbing.any():
            break
        potential[climbing] = cluster_parent[potential[climbing]]
    label_of = np.full(size, -1, dtype=np.int64)
    label_of[list(data.cluster_map)] = list(data.cluster_map.values())
    labels = label_of[potential]
    max_lambda = np.zeros(size)
    max_lambda[list(data.max_lambdas)] = list(data.max_lambdas.values())
    top = max_lambda[potential]
    probabilities = np.where(
        top > 0.0, np.minimum(top, lambdas) / np.where(top > 0.0, top, 1.0), 1.0
    )
    probabilities = np.where(labels >= 0, probabilities, 0.0)
    return labels.astype(np.int32), probabilities
