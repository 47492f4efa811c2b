"""How the three answers form during training: the measures of one training snapshot.

A *snapshot* is the network's weights after an epoch (0 = the untrained network). For each one
the dynamics stage captures the same seeded subset of samples and :func:`snapshot_measures`
turns its activations into rows of small tables, the same measures the finished network's
stages report, so that an epoch's answer reads like the final one:

- ``pairs``: per layer and pair of trained classes, linear-probe accuracy (fitted on the
  subset's train samples, scored on its test samples: one fit per layer and epoch, where the
  finished network's divergence step cross-validates), signature distance
  (RMS Cohen's d), share of units that differ (Mann–Whitney, Benjamini–Hochberg at ``alpha``)
  and the purity of the layer's own clusters (fitted on the trained train samples) — and from
  them the epoch's divergence layer (:func:`pathways.analysis.layers.divergence_layer`);
- ``layers``: per layer, linear CKA with the same layer of the final network (a layer has
  *settled* once it reaches 0.9);
- ``affinity``: per layer and unseen class, the share of its samples whose closest trained
  signature is each trained class;
- ``predictions``: per class, the share of its samples the network calls each trained class;
- ``novelty``: the AUROC of every registered novelty score (unseen vs trained test samples).

Everything is fitted on the subset's trained train samples only, as in the finished network's
stages. :func:`aligned_map` gives each epoch's 2-D map of a layer, aligned to the previous
epoch's so that points move rather than jump.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.linalg import orthogonal_procrustes
from scipy.special import softmax
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pathways.analysis.cluster import LayerClusterer
from pathways.analysis.layers import divergence_layer, linear_cka, pair_separation
from pathways.analysis.novelty import NoveltyInputs
from pathways.analysis.novelty_evaluation import evaluate, signature_affinity
from pathways.analysis.novelty_scores import NOVELTY_SCORES, score_kind
from pathways.analysis.paths import path_strings
from pathways.analysis.stats import benjamini_hochberg, mann_whitney_p

SETTLED_CKA = 0.9
"""A layer has settled once its CKA with the final network's same layer reaches this."""


@dataclass(frozen=True)
class SnapshotSamples:
    """The samples every snapshot is measured on: labels, which are fitted (trained classes,
    train split), which are test samples, and the trained and unseen classes."""

    labels: np.ndarray
    fit: np.ndarray
    test: np.ndarray
    trained: list[int]
    unseen: list[int]

    @property
    def seen(self) -> np.ndarray:
        return np.isin(self.labels, self.trained)


@dataclass(frozen=True)
class DynamicsSettings:
    clusterer: LayerClusterer
    seed: int = 0
    alpha: float = 0.05
    knn_k: int = 10
    divergence_probe_fraction: float = 0.99
    divergence_purity: float = 0.9


def share_differing(a: np.ndarray, b: np.ndarray, alpha: float) -> float:
    """Share of units whose values differ between two groups (Mann–Whitney, BH at ``alpha``)."""
    return float((benjamini_hochberg(mann_whitney_p(a, b)) < alpha).mean())


def holdout_probe_accuracy(
    values: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray
) -> float:
    """Accuracy on ``test`` of a standardised logistic regression fitted on ``train``."""
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    probe.fit(values[train], labels[train])
    return float(probe.score(values[test], labels[test]))


def _clusters(values: np.ndarray, fit: np.ndarray, clusterer: LayerClusterer) -> np.ndarray:
    fitted = clone(clusterer).fit(values[fit])
    return fitted.assign(values, fit).cluster


def snapshot_measures(
    epoch: int,
    layers: dict[str, np.ndarray],
    logits: np.ndarray,
    final: dict[str, np.ndarray],
    samples: SnapshotSamples,
    settings: DynamicsSettings,
) -> dict[str, pd.DataFrame]:
    """The measures of one snapshot. ``layers``: hidden layers in network order, float[n,
    units] each; ``final``: the same layers of the final network, for CKA."""
    labels, fit = samples.labels, samples.fit
    with_logits = {**layers, "logit": logits}
    pairs, per_layer, clusters = [], [], {}
    for depth, (layer, values) in enumerate(with_logits.items()):
        clusters[layer] = _clusters(values, fit, settings.clusterer)
        for i, a in enumerate(samples.trained):
            for b in samples.trained[i + 1 :]:
                both = np.isin(labels, [a, b])
                members = both & (fit | samples.test)
                pairs.append(
                    {
                        "epoch": epoch,
                        "layer": layer,
                        "depth": depth,
                        "class_a": a,
                        "class_b": b,
                        "probe_accuracy": holdout_probe_accuracy(
                            values, labels, both & fit, both & samples.test
                        ),
                        **pair_separation(
                            values[members], clusters[layer][members], labels[members], a, b
                        ),
                        "share_differing": share_differing(
                            values[fit & (labels == a)], values[fit & (labels == b)], settings.alpha
                        ),
                    }
                )
        reference = final.get(layer)
        per_layer.append(
            {
                "epoch": epoch,
                "layer": layer,
                "depth": depth,
                "cka_final": linear_cka(values, reference) if reference is not None else np.nan,
                "n_clusters": int(len(np.unique(clusters[layer][fit]))),
            }
        )
    pair_table = pd.DataFrame(pairs)
    divergence = divergence_layer(
        pair_table, settings.divergence_probe_fraction, settings.divergence_purity
    ).assign(epoch=epoch)
    affinity = signature_affinity(with_logits, labels, fit, samples.unseen).assign(epoch=epoch)
    return {
        "pairs": pair_table,
        "layers": pd.DataFrame(per_layer),
        "divergence": divergence,
        "affinity": affinity,
        "predictions": _predictions(epoch, logits, labels, samples.trained),
        "novelty": _novelty(epoch, layers, logits, clusters, samples, settings),
    }


def _predictions(
    epoch: int, logits: np.ndarray, labels: np.ndarray, trained: list[int]
) -> pd.DataFrame:
    called = np.asarray(trained)[logits.argmax(axis=1)]
    rows = []
    for c in np.unique(labels):
        members = labels == c
        for t in trained:
            share = float((called[members] == t).mean())
            rows.append({"epoch": epoch, "class": int(c), "predicted_class": t, "share": share})
    return pd.DataFrame(rows)


def _novelty(
    epoch: int,
    layers: dict[str, np.ndarray],
    logits: np.ndarray,
    clusters: dict[str, np.ndarray],
    samples: SnapshotSamples,
    settings: DynamicsSettings,
) -> pd.DataFrame:
    if not samples.unseen:
        return pd.DataFrame(columns=["epoch", "method", "kind", "auroc"])
    paths = path_strings(pd.DataFrame({k: v for k, v in clusters.items() if k in layers}))
    inputs = NoveltyInputs(
        layers,
        logits,
        softmax(logits.astype(np.float64), axis=1),
        samples.labels,
        samples.fit,
        paths.to_numpy(),
        settings.knn_k,
    )
    computed: dict[str, np.ndarray] = {}
    for score in NOVELTY_SCORES.values():
        computed |= score.load()(inputs)
    table = evaluate(computed, ~samples.seen, samples.test)
    return pd.DataFrame(
        {
            "epoch": epoch,
            "method": table["method"],
            "kind": [score_kind(m) for m in table["method"]],
            "auroc": table["auroc"],
        }
    )


def aligned_map(values: np.ndarray, previous: np.ndarray | None, seed: int = 0) -> np.ndarray:
    """A 2-D map of one layer (PCA of the standardised values), rotated, reflected and scaled
    onto ``previous`` (the same samples' map at the previous snapshot) by orthogonal
    Procrustes, so that the maps of successive epochs share their orientation."""
    scaled = StandardScaler().fit_transform(values.astype(np.float64))
    n = min(2, scaled.shape[1], len(scaled) - 1)
    points = PCA(n_components=n, random_state=seed).fit_transform(scaled)
    if n < 2:
        points = np.hstack([points, np.zeros((len(points), 2 - n))])
    points -= points.mean(axis=0)
    spread = np.sqrt((points**2).sum(axis=1).mean()) or 1.0
    points /= spread
    if previous is not None:
        rotation, _ = orthogonal_procrustes(points, previous)
        points = points @ rotation
    return points.astype(np.float32)


def settled_epoch(layers: pd.DataFrame) -> dict[str, int | None]:
    """Per layer: the first epoch from which its CKA with the final network stays at or above
    :data:`SETTLED_CKA` (``None``: never before the last snapshot)."""
    found: dict[str, int | None] = {}
    for layer, group in layers.sort_values("epoch").groupby("layer", sort=False):
        below = group[group["cka_final"] < SETTLED_CKA]
        after = group[group["epoch"] > below["epoch"].max()] if len(below) else group
        found[layer] = int(after["epoch"].iloc[0]) if len(after) else None
    return found


def parting_epoch(divergence: pd.DataFrame, class_a: int, class_b: int) -> dict[str, Any] | None:
    """When a pair parts for good: the first epoch from which it has a divergence layer at
    every later snapshot (``epoch``, and its layer then, ``layer``), the last snapshot's
    divergence layer (``final_layer``) and the first epoch from which the divergence layer stays
    that one (``final_from``). ``None``: not parted at the last snapshot."""
    rows = divergence[(divergence["class_a"] == class_a) & (divergence["class_b"] == class_b)]
    rows = rows.sort_values("epoch")
    layers = rows["divergence_layer"].to_numpy()
    if len(rows) == 0 or layers[-1] is None or pd.isna(layers[-1]):
        return None
    parted = pd.notna(layers)
    first = next(i for i in range(len(rows)) if parted[i:].all())
    same = layers == layers[-1]
    settled = next(i for i in range(len(rows)) if same[i:].all())
    epochs = rows["epoch"].to_numpy()
    return {
        "epoch": int(epochs[first]),
        "layer": str(layers[first]),
        "final_layer": str(layers[-1]),
        "final_from": int(epochs[settled]),
    }


def called_as_from(predictions: pd.DataFrame, cls: int) -> dict[str, Any] | None:
    """The trained class that most of ``cls``'s samples are called at the last snapshot, and
    the first epoch from which that stays their majority call."""
    mine = predictions[predictions["class"] == cls]
    if mine.empty:
        return None
    majority = mine.loc[mine.groupby("epoch")["share"].idxmax()].sort_values("epoch")
    last = int(majority["predicted_class"].iloc[-1])
    same = (majority["predicted_class"] == last).to_numpy()
    start = next(i for i in range(len(same)) if same[i:].all())
    row = majority.iloc[start]
    return {
        "predicted_class": last,
        "epoch": int(row["epoch"]),
        "share": float(majority["share"].iloc[-1]),
    }
