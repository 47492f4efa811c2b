"""Clustering the samples of one layer: standardise → reduce → HDBSCAN (or k-means).

:class:`LayerClusterer` follows scikit-learn's rules (``__init__`` stores arguments, ``fit`` sets
trailing-underscore attributes). It is fitted on some samples (the trained classes' train split)
and *assigns* any other samples (test split, unseen classes) to the clusters found:

- HDBSCAN's ``approximate_predict`` gives a cluster and a membership strength (computed for
  all samples at once: :mod:`pathways.analysis.cluster_assign`);
- where it answers noise (−1) — for points outside every cluster, and as users of hdbscan report,
  sometimes for all new points — the sample goes to the cluster of its nearest *exemplar* (the
  core points HDBSCAN keeps for each cluster) with strength 0 and ``outlier = True``.

So every sample has a cluster (paths need one per layer) and the outlier flag keeps the
information that it did not really belong. Noise points of the fitted samples are treated the
same way. Cluster ids are numbered by decreasing size, so results do not depend on the
arbitrary numbering of the underlying algorithm.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> blobs = np.concatenate([rng.normal(0, 0.3, (60, 5)), rng.normal(4, 0.3, (40, 5))])
>>> clusterer = LayerClusterer(n_components=2, min_cluster_size=10).fit(blobs)
>>> clusterer.n_clusters_, np.bincount(clusterer.labels_).tolist()
(2, [60, 40])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from pathways.analysis.cluster_assign import approximate_predict


@dataclass
class Assignment:
    """Cluster of each sample: ``cluster`` int[n] (≥ 0), ``strength`` float[n] in [0, 1],
    ``outlier`` bool[n] (noise for HDBSCAN, beyond the 99th percentile distance for k-means)."""

    cluster: np.ndarray
    strength: np.ndarray
    outlier: np.ndarray


def auto_min_cluster_size(n_samples: int) -> int:
    """2 % of the fitted samples, at least 5: clusters a person can still look at one by one."""
    return max(5, round(0.02 * n_samples))


class LayerClusterer(BaseEstimator):
    """Standardise, reduce to ``n_components`` (PCA or UMAP), then HDBSCAN or k-means.

    Parameters
    ----------
    method : "hdbscan" or "kmeans"
    reducer : "pca" or "umap"
    n_components : dimensions kept by the reducer (capped by the data)
    min_cluster_size, min_samples : HDBSCAN settings (``min_cluster_size=None``: 2 % of n)
    n_clusters : k for k-means
    seed : random state of PCA / UMAP / k-means
    """

    def __init__(
        self,
        method: str = "hdbscan",
        reducer: str = "pca",
        n_components: int = 10,
        min_cluster_size: int | None = None,
        min_samples: int = 5,
        n_clusters: int = 8,
        seed: int = 0,
    ) -> None:
        self.method = method
        self.reducer = reducer
        self.n_components = n_components
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.n_clusters = n_clusters
        self.seed = seed

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, values: np.ndarray) -> LayerClusterer:
        values = np.asarray(values, dtype=np.float32)
        if values.ndim != 2 or len(values) < 3:
            raise ValueError(
                f"need at least 3 samples as float[n, units], got shape {values.shape}"
            )
        if self.method not in {"hdbscan", "kmeans"} or self.reducer not in {"pca", "umap"}:
            raise ValueError(f"unknown method/reducer {self.method!r}/{self.reducer!r}")
        self.scaler_ = StandardScaler().fit(values)
        scaled = self.scaler_.transform(values)
        n_components = max(1, min(self.n_components, values.shape[1], len(values) - 1))
        if self.reducer == "umap":
            import umap

            self.reducer_ = umap.UMAP(
                n_components=n_components,
                n_neighbors=15,
                min_dist=0.0,
                random_state=self.seed,
                n_jobs=1,
            ).fit(scaled)
        else:
            self.reducer_ = PCA(n_components=n_components, random_state=self.seed).fit(scaled)
        reduced = self.reducer_.transform(scaled)
        raw = self._fit_hdbscan(reduced) if self.method == "hdbscan" else self._fit_kmeans(reduced)
        self._finish_fit(reduced, raw)
        return self

    def _fit_hdbscan(self, reduced: np.ndarray) -> np.ndarray:
        import hdbscan

        size = self.min_cluster_size or auto_min_cluster_size(len(reduced))
        self.model_ = hdbscan.HDBSCAN(
            min_cluster_size=min(size, len(reduced)),
            min_samples=min(self.min_samples, len(reduced) - 1),
            prediction_data=True,
        ).fit(reduced)
        return self.model_.labels_.copy()

    def _fit_kmeans(self, reduced: np.ndarray) -> np.ndarray:
        k = min(self.n_clusters, len(reduced))
        self.model_ = KMeans(n_clusters=k, n_init=4, random_state=self.seed).fit(reduced)
        distances = self.model_.transform(reduced).min(axis=1)
        self.outlier_distance_ = float(np.quantile(distances, 0.99))
        return self.model_.labels_.copy()

    def _finish_fit(self, reduced: np.ndarray, raw: np.ndarray) -> None:
        found = np.unique(raw[raw >= 0])
        if len(found) == 0:  # HDBSCAN saw no structure: one cluster of everything
            raw = np.zeros(len(raw), dtype=np.int64)
            found = np.array([0])
            self.degenerate_ = True
        else:
            self.degenerate_ = False
        sizes = np.array([(raw == c).sum() for c in found])
        order = found[np.argsort(-sizes, kind="stable")]
        # raw algorithm label -> our label (by decreasing size); noise stays -1
        self.relabel_ = {int(r): i for i, r in enumerate(order)}
        self.n_clusters_ = len(order)
        members = np.array([self.relabel_.get(int(r), -1) for r in raw])
        self.exemplars_, self.exemplar_labels_ = self._exemplars(reduced, raw, members)
        self._nearest = NearestNeighbors(n_neighbors=1).fit(self.exemplars_)
        assignment = self._resolve(reduced, members, self._fit_strengths(raw))
        self.labels_, self.strengths_, self.outliers_ = (
            assignment.cluster,
            assignment.strength,
            assignment.outlier,
        )

    def _exemplars(
        self, reduced: np.ndarray, raw: np.ndarray, members: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.method == "hdbscan" and not self.degenerate_:
            points, labels = [], []
            for raw_label, points_of in zip(
                sorted(self.relabel_), self.model_.exemplars_, strict=False
            ):  # hdbscan lists exemplars in raw label order
                points.append(points_of)
                labels.append(np.full(len(points_of), self.relabel_[raw_label]))
            return np.concatenate(points), np.concatenate(labels)
        if self.method == "kmeans":
            centres = self.model_.cluster_centers_
            return centres, np.array([self.relabel_[i] for i in range(len(centres))])
        return reduced, members  # degenerate HDBSCAN: every point is an exemplar of cluster 0

    def _fit_strengths(self, raw: np.ndarray) -> np.ndarray:
        if self.method == "hdbscan" and not self.degenerate_:
            return self.model_.probabilities_.astype(np.float64)
        return np.ones(len(raw))

    # -- assigning ----------------------------------------------------------------------------
    def _reduce(self, values: np.ndarray) -> np.ndarray:
        return self.reducer_.transform(self.scaler_.transform(np.asarray(values, dtype=np.float32)))

    def _resolve(
        self, reduced: np.ndarray, labels: np.ndarray, strengths: np.ndarray
    ) -> Assignment:
        labels, strengths = labels.copy(), strengths.copy()
        outlier = labels < 0
        if outlier.any():
            nearest = self._nearest.kneighbors(reduced[outlier], return_distance=False)[:, 0]
            labels[outlier] = self.exemplar_labels_[nearest]
            strengths[outlier] = 0.0
        return Assignment(labels.astype(np.int64), strengths, outlier)

    def predict(self, values: np.ndarray) -> Assignment:
        """Assign new samples to the fitted clusters (never all noise; see the module notes)."""
        reduced = self._reduce(values)
        if self.method == "kmeans":
            distances = self.model_.transform(reduced)
            raw = distances.argmin(axis=1)
            labels = np.array([self.relabel_[int(r)] for r in raw])
            sorted_d = np.sort(distances, axis=1)
            second = sorted_d[:, 1] if sorted_d.shape[1] > 1 else sorted_d[:, 0] + 1.0
            strength = np.clip(1.0 - sorted_d[:, 0] / np.maximum(second, 1e-12), 0.0, 1.0)
            return Assignment(
                labels.astype(np.int64), strength, sorted_d[:, 0] > self.outlier_distance_
            )
        if self.degenerate_:
            return Assignment(
                np.zeros(len(reduced), dtype=np.int64),
                np.zeros(len(reduced)),
                np.ones(len(reduced), bool),
            )
        raw, strengths = approximate_predict(self.model_, reduced)
        labels = np.array([self.relabel_.get(int(r), -1) for r in raw])
        return self._resolve(reduced, labels, np.asarray(strengths, dtype=np.float64))

    def assign(self, values: np.ndarray, fitted: np.ndarray) -> Assignment:
        """Clusters for all samples: the fit's own result where ``fitted``, ``predict`` elsewhere."""
        fitted = np.asarray(fitted, dtype=bool)
        cluster = np.empty(len(values), dtype=np.int64)
        strength = np.empty(len(values))
        outlier = np.empty(len(values), dtype=bool)
        cluster[fitted], strength[fitted], outlier[fitted] = (
            self.labels_,
            self.strengths_,
            self.outliers_,
        )
        if (~fitted).any():
            other = self.predict(values[~fitted])
            cluster[~fitted], strength[~fitted], outlier[~fitted] = (
                other.cluster,
                other.strength,
                other.outlier,
            )
        return Assignment(cluster, strength, outlier)


def unit_clusters(values: np.ndarray, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Group the units of a layer by co-activation across samples.

    Average-linkage clustering on 1 − Pearson correlation, cut where the average correlation
    inside a group falls below ``threshold``. Dead units (constant over all samples) get −1.

    Returns (group int[n_units] numbered by decreasing size, dead bool[n_units]).
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    dead = values.std(axis=0) == 0
    groups = np.full(values.shape[1], -1, dtype=np.int64)
    alive = np.flatnonzero(~dead)
    if len(alive) == 1:
        groups[alive] = 0
    elif len(alive) > 1:
        corr = np.nan_to_num(np.corrcoef(values[:, alive], rowvar=False))
        distance = np.clip(1.0 - corr, 0.0, 2.0)
        np.fill_diagonal(distance, 0.0)
        tree = linkage(squareform(distance, checks=False), method="average")
        raw = fcluster(tree, t=1.0 - threshold, criterion="distance")
        labels, counts = np.unique(raw, return_counts=True)
        order = {int(lab): i for i, lab in enumerate(labels[np.argsort(-counts, kind="stable")])}
        groups[alive] = [order[int(r)] for r in raw]
    return groups, dead


@dataclass(frozen=True)
class ClusterSettings:
    """How a layer's samples are clustered (the ``analysis`` settings of that name)."""

    cluster_method: str
    reducer: str
    n_components: int
    min_cluster_size: int | None
    min_samples: int
    n_clusters: int
    seed: int

    def clusterer(self) -> LayerClusterer:
        return LayerClusterer(
            method=self.cluster_method,
            reducer=self.reducer,
            n_components=self.n_components,
            min_cluster_size=self.min_cluster_size,
            min_samples=self.min_samples,
            n_clusters=self.n_clusters,
            seed=self.seed,
        )


def fit_sample_mask(samples: pd.DataFrame) -> np.ndarray:
    """The samples clusters and novelty models are fitted on: trained classes, train split."""
    return (samples["seen"].to_numpy()) & (samples["split"].astype(str).to_numpy() == "train")
