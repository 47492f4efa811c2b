"""From which layer do two classes part ways? Probes, signature distance, purity, CKA.

Per layer and pair of trained classes:

- ``probe_accuracy``: cross-validated accuracy of a standardised logistic regression telling the
  two classes apart (stratified k-fold, seeded);
- ``signature_distance``: RMS over units of Cohen's d between the two classes;
- ``cluster_purity`` and ``nmi``: how well the layer's (unsupervised) clusters separate them;
- ``cka_input`` and ``cka_logits``: linear CKA of the layer with the input pixels and with the
  logits (how much of the input geometry it keeps, how much of the output's it already has).

The *divergence layer* of a pair is the first layer (in network order, hidden layers and the
output) whose probe accuracy reaches ``probe_fraction`` (99 %) of the best layer's **and** whose
cluster purity reaches ``purity`` (0.9): the network not only *can* tell the classes apart there
(a linear read-out can), its own representation has split them into different clusters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import normalized_mutual_info_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pathways.analysis.stats import cohens_d


def probe_accuracy(
    values: np.ndarray, labels: np.ndarray, folds: int = 5, seed: int = 0
) -> tuple[float, float]:
    """Mean and std of k-fold cross-validated linear-probe accuracy."""
    folds = max(2, min(folds, np.bincount(np.unique(labels, return_inverse=True)[1]).min()))
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    scores = cross_val_score(
        probe, values, labels, cv=StratifiedKFold(folds, shuffle=True, random_state=seed)
    )
    return float(scores.mean()), float(scores.std())


class LinearCka:
    """Linear centred kernel alignment (Kornblith 2019) of representations of the same samples
    against fixed references: ``LinearCka(images, logits)(layer)`` → (CKA with the images,
    CKA with the logits). Each reference is centred and its Gram norm computed once, and each
    compared representation's own once for all references: for the 784-pixel images of 70,000
    samples these products are most of the cost. A reference compared with itself is 1
    without any product.
    """

    def __init__(self, *references: np.ndarray) -> None:
        self._sources = references
        self._centred = [_centred(r) for r in references]
        self._norms = [_gram_norm(y) for y in self._centred]

    def __call__(self, values: np.ndarray) -> tuple[float, ...]:
        itself = next((i for i, r in enumerate(self._sources) if values is r), None)
        if itself is None:
            x = _centred(values)
            norm = _gram_norm(x)
        else:
            x, norm = self._centred[itself], self._norms[itself]
        found = []
        for i, (y, y_norm) in enumerate(zip(self._centred, self._norms, strict=True)):
            both = norm * y_norm
            if both == 0:
                found.append(0.0)
            elif i == itself:
                found.append(1.0)
            else:
                found.append(float(np.linalg.norm(y.T @ x) ** 2 / both))
        return tuple(found)


def _centred(values: np.ndarray) -> np.ndarray:
    return values.astype(np.float64) - values.mean(axis=0)


def _gram_norm(x: np.ndarray) -> float:
    return float(np.linalg.norm(x.T @ x))


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear centred kernel alignment of two representations of the same samples (Kornblith 2019)."""
    return LinearCka(y)(x)[0]


def cluster_purity(clusters: np.ndarray, labels: np.ndarray) -> float:
    """Share of samples whose cluster's majority class is their class."""
    table = pd.crosstab(clusters, labels)
    return float(table.max(axis=1).sum() / table.to_numpy().sum())


def pair_separation(
    values: np.ndarray, clusters: np.ndarray | None, labels: np.ndarray, class_a: int, class_b: int
) -> dict:
    """Signature distance (RMS Cohen's d) and cluster purity and NMI of two classes' samples
    (``values``, ``clusters`` and ``labels`` of those samples only)."""
    a, b = values[labels == class_a], values[labels == class_b]
    return {
        "signature_distance": float(np.sqrt((cohens_d(a, b) ** 2).mean())),
        "cluster_purity": cluster_purity(clusters, labels) if clusters is not None else np.nan,
        "nmi": float(normalized_mutual_info_score(labels, clusters))
        if clusters is not None
        else np.nan,
    }


def pair_divergence(
    layer: str,
    values: np.ndarray,
    clusters: np.ndarray,
    labels: np.ndarray,
    class_a: int,
    class_b: int,
    *,
    folds: int = 5,
    seed: int = 0,
) -> dict:
    members = (labels == class_a) | (labels == class_b)
    x, y = values[members], labels[members]
    mean, std = probe_accuracy(x, y, folds, seed)
    return {
        "layer": layer,
        "class_a": class_a,
        "class_b": class_b,
        "probe_accuracy": mean,
        "probe_std": std,
        **pair_separation(
            x, clusters[members] if clusters is not None else None, y, class_a, class_b
        ),
    }


def divergence_layer(
    table: pd.DataFrame, probe_fraction: float = 0.99, purity: float = 0.9
) -> pd.DataFrame:
    """Per class pair: the divergence layer (or none) and why.

    ``table`` has one row per (layer, class_a, class_b) with ``depth``, ``probe_accuracy`` and
    ``cluster_purity``; rows with ``depth < 0`` (the input) are reference only.
    """
    rows = []
    for (a, b), group in table[table["depth"] >= 0].groupby(["class_a", "class_b"]):
        group = group.sort_values("depth")
        best = group["probe_accuracy"].max()
        ok = group[
            (group["probe_accuracy"] >= probe_fraction * best) & (group["cluster_purity"] >= purity)
        ]
        first = ok.iloc[0] if len(ok) else None
        rows.append(
            {
                "class_a": a,
                "class_b": b,
                "divergence_layer": first["layer"] if first is not None else None,
                "depth": int(first["depth"]) if first is not None else -1,
                "probe_accuracy": float(first["probe_accuracy"]) if first is not None else np.nan,
                "cluster_purity": float(first["cluster_purity"]) if first is not None else np.nan,
                "best_probe_accuracy": float(best),
                "rule": f"first layer with probe accuracy ≥ {probe_fraction:g} × best and cluster purity ≥ {purity:g}",
            }
        )
    return pd.DataFrame(rows)
