"""Do the findings survive retraining? Agreement of clusters, paths and divergence layer
across training seeds, on the same samples.

- per layer and pair of seeds: adjusted Rand index (ARI) between the two cluster partitions;
- per pair of seeds: ARI between the *path* partitions (samples grouped by their whole path);
- per class and pair of seeds: Jaccard overlap of the sets of samples that follow the class's
  dominant path in each seed (cluster ids differ between seeds; the samples do not);
- per seed: the divergence layer of each trained pair, and whether all seeds agree.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from pathways.analysis.layers import divergence_layer
from pathways.analysis.paths import path_strings


def _dominant_members(paths: pd.Series, labels: np.ndarray, cls: int) -> set[int]:
    members = np.flatnonzero(labels == cls)
    dominant = paths.iloc[members].value_counts().index[0]
    return set(members[paths.iloc[members].to_numpy() == dominant].tolist())


def stability_tables(
    per_seed: dict[int, tuple[pd.DataFrame, pd.DataFrame, np.ndarray]],
    probe_fraction: float,
    purity: float,
) -> dict[str, pd.DataFrame]:
    """``per_seed``: seed → (samples × layers cluster ids, divergence rows with depth, labels)."""
    cluster_rows, path_rows, dominant_rows, layer_rows = [], [], [], []
    paths = {seed: path_strings(clusters) for seed, (clusters, _, _) in per_seed.items()}
    for a, b in combinations(per_seed, 2):
        clusters_a, _, labels = per_seed[a]
        clusters_b = per_seed[b][0]
        for layer in clusters_a.columns:
            cluster_rows.append(
                {
                    "layer": layer,
                    "seed_a": a,
                    "seed_b": b,
                    "ari": adjusted_rand_score(clusters_a[layer], clusters_b[layer]),
                }
            )
        path_rows.append(
            {"seed_a": a, "seed_b": b, "path_ari": adjusted_rand_score(paths[a], paths[b])}
        )
        for cls in np.unique(labels):
            on_a, on_b = (
                _dominant_members(paths[a], labels, cls),
                _dominant_members(paths[b], labels, cls),
            )
            dominant_rows.append(
                {
                    "class": int(cls),
                    "seed_a": a,
                    "seed_b": b,
                    "jaccard": len(on_a & on_b) / len(on_a | on_b),
                }
            )
    for seed, (_, divergence, _) in per_seed.items():
        found = divergence_layer(divergence, probe_fraction, purity)
        layer_rows.append(found.assign(seed=seed))
    layers = pd.concat(layer_rows, ignore_index=True) if layer_rows else pd.DataFrame()
    agreement = (
        layers.groupby(["class_a", "class_b"])["divergence_layer"]
        .agg(lambda s: s.nunique(dropna=False) == 1)
        .rename("same_divergence_layer")
        .reset_index()
        if len(layers)
        else pd.DataFrame()
    )
    return {
        "cluster_agreement": pd.DataFrame(cluster_rows),
        "path_agreement": pd.DataFrame(path_rows),
        "dominant_path_agreement": pd.DataFrame(dominant_rows),
        "divergence_by_seed": layers,
        "divergence_agreement": agreement,
    }
