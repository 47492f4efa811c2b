"""The analysis stages: signatures, clusters, paths, divergence, stability (novelty and the maps:
:mod:`pathways.stages.novelty`, :mod:`pathways.stages.maps`).

Each takes one model's captured activations (and upstream analysis outputs) by input name and
its settings as keyword-only arguments, calls the analysis modules, and returns tidy DataFrames;
:mod:`pathways.engine.runner` saves them as Parquet. No torch here.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pathways.analysis.cluster import (
    ClusterSettings,
    LayerClusterer,
    fit_sample_mask,
    unit_clusters,
)
from pathways.analysis.differences import class_pairs, summarise_differences, unit_differences
from pathways.analysis.layers import LinearCka, divergence_layer, pair_divergence
from pathways.analysis.paths import (
    class_path_purity,
    path_distribution,
    path_purity,
    path_strings,
    transitions,
    unseen_flow,
)
from pathways.analysis.signatures import class_signatures
from pathways.analysis.stability import stability_tables
from pathways.data.subsets import read_samples
from pathways.engine.artifacts import Artifact
from pathways.engine.fanout import map_items
from pathways.engine.progress import Progress
from pathways.stages.reading import captured
from pathways.store.reading import LayerData, load_layer


def signatures_stage(
    capture: Artifact,
    *,
    firing_threshold: float,
    top_units: int,
    alpha: float,
    trained_classes: list[int],
    unseen_classes: list[int],
    progress: Progress,
) -> dict[str, Any]:
    """Per layer: class signatures, per-unit differences for every class pair, their summary."""
    path, samples, layers = captured(capture)
    labels = samples["label"].to_numpy()
    pairs = class_pairs(trained_classes, unseen_classes)
    advance = progress.task("signatures", total=len(layers))
    job = functools.partial(
        _layer_signatures, path, labels, pairs, firing_threshold, top_units, alpha
    )
    per_layer = map_items(job, layers, advance)
    signatures = [sig for sig, _ in per_layer]
    differences = [diff for _, diffs in per_layer for diff in diffs]
    differences_table = _layer_first(pd.concat(differences, ignore_index=True))
    return {
        "signatures": _layer_first(pd.concat(signatures, ignore_index=True)),
        "differences": differences_table,
        "difference_summary": summarise_differences(differences_table),
    }


def _layer_signatures(
    path: Path,
    labels: np.ndarray,
    pairs: list[tuple[int, int]],
    firing_threshold: float,
    top_units: int,
    alpha: float,
    layer: str,
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """One layer's class signatures and its per-unit differences for every class pair."""
    data = load_layer(path, layer)
    sig = class_signatures(data.values, labels, data.units, firing_threshold, top_units)
    differences = [
        unit_differences(data.values, labels, data.units, a, b, alpha).assign(layer=layer)
        for a, b in pairs
    ]
    return sig.assign(layer=layer), differences


def _layer_first(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["layer", *[c for c in frame.columns if c != "layer"]]]


def cluster_layer(
    data: LayerData, fit: np.ndarray, settings: ClusterSettings
) -> tuple[LayerClusterer, Any]:
    clusterer = settings.clusterer().fit(data.values[fit])
    return clusterer, clusterer.assign(data.values, fit)


def _cluster_one(
    path: Path, fit: np.ndarray, settings: ClusterSettings, unit_correlation: float, layer: str
) -> dict:
    """One layer's clustering and unit groups (small results only: they may cross a network)."""
    data = load_layer(path, layer)
    clusterer, result = cluster_layer(data, fit, settings)
    groups, dead = unit_clusters(data.values, unit_correlation)
    return {
        "result": result,
        "n_units": data.values.shape[1],
        "n_clusters": clusterer.n_clusters_,
        "degenerate": bool(getattr(clusterer, "degenerate_", False)),
        "units": pd.DataFrame(
            {"layer": layer, "unit": data.units, "unit_group": groups, "dead": dead}
        ),
    }


def _layer_clusters(
    layer: str, one: dict[str, Any], samples: pd.DataFrame, fit: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """One layer's clustering as its assignments, class composition and summary row."""
    result = one["result"]
    frame = pd.DataFrame(
        {
            "sample_id": samples["sample_id"].to_numpy(),
            "layer": layer,
            "cluster": result.cluster,
            "strength": result.strength.astype(np.float32),
            "outlier": result.outlier,
            "fitted": fit,
        }
    )
    counts = (
        frame.assign(**{"class": samples["label"].to_numpy()})
        .groupby(["cluster", "class"])
        .size()
        .rename("n")
        .reset_index()
    )
    counts["share"] = counts["n"] / counts.groupby("cluster")["n"].transform("sum")
    unseen = ~samples["seen"].to_numpy()
    row = {
        "layer": layer,
        "n_units": one["n_units"],
        "n_clusters": one["n_clusters"],
        "noise_share_fitted": float(result.outlier[fit].mean()),
        "outlier_share_unseen": float(result.outlier[unseen].mean()) if unseen.any() else np.nan,
        "degenerate": one["degenerate"],
    }
    return frame, counts.assign(layer=layer), row


def clusters_stage(
    capture: Artifact,
    *,
    cluster_method: str,
    reducer: str,
    n_components: int,
    min_cluster_size: int | None,
    min_samples: int,
    n_clusters: int,
    seed: int,
    unit_correlation: float,
    progress: Progress,
) -> dict[str, Any]:
    """Per layer: sample clusters (fit on trained train samples, others assigned), their class
    composition, and unit groups by co-activation."""
    settings = ClusterSettings(
        cluster_method, reducer, n_components, min_cluster_size, min_samples, n_clusters, seed
    )
    path, samples, layers = captured(capture)
    fit = fit_sample_mask(samples)
    assignments, composition, summary, units = [], [], [], []
    advance = progress.task("clusters", total=len(layers))
    job = functools.partial(_cluster_one, path, fit, settings, unit_correlation)
    fitted = map_items(job, layers, advance)
    for layer, one in zip(layers, fitted, strict=True):
        frame, counts, row = _layer_clusters(layer, one, samples, fit)
        assignments.append(frame)
        composition.append(counts)
        summary.append(row)
        units.append(one["units"])
    return {
        "assignments": pd.concat(assignments, ignore_index=True),
        "composition": _layer_first(pd.concat(composition, ignore_index=True)),
        "cluster_summary": pd.DataFrame(summary),
        "unit_groups": pd.concat(units, ignore_index=True),
    }


def _cluster_table(assignments: pd.DataFrame, column: str = "cluster") -> pd.DataFrame:
    """samples × layers table of ``column`` in layer order of appearance."""
    order = list(dict.fromkeys(assignments["layer"]))
    return assignments.pivot(index="sample_id", columns="layer", values=column)[order]


def paths_stage(
    capture: Artifact, clusters: Artifact, *, unseen_classes: list[int], progress: Progress
) -> dict[str, Any]:
    """Paths of every sample through the hidden layers' clusters and the output's."""
    _, samples, _ = captured(capture)
    assignments = clusters["assignments"]
    table = _cluster_table(assignments)
    outliers = _cluster_table(assignments, "outlier").astype(bool)
    labels = samples["label"].to_numpy()
    paths = path_strings(table)
    sample_paths = samples[["sample_id", "label", "split", "seen"]].assign(path=paths.to_numpy())
    for layer in table.columns:
        sample_paths[f"cluster_{layer}"] = table[layer].to_numpy()
    reference = fit_sample_mask(samples)
    return {
        "sample_paths": sample_paths,
        "distribution": path_distribution(paths, labels),
        "transitions": transitions(table, labels),
        "path_purity": path_purity(
            paths[samples["seen"].to_numpy()], labels[samples["seen"].to_numpy()]
        ),
        "class_purity": class_path_purity(paths, labels),
        "unseen_flow": unseen_flow(table, outliers, labels, reference, sorted(unseen_classes)),
    }


def divergence_stage(
    capture: Artifact,
    data: Artifact,
    clusters: Artifact,
    *,
    probe_folds: int,
    divergence_probe_fraction: float,
    divergence_purity: float,
    seed: int,
    trained_classes: list[int],
    progress: Progress,
) -> dict[str, Any]:
    """Per layer and trained pair: probe accuracy, signature distance, purity, NMI, CKA."""
    path, samples, layers = captured(capture)
    labels = samples["label"].to_numpy()
    pixels = read_samples(data.path("samples"))[1].reshape(len(samples), -1)
    images = pixels / np.float32(255.0)
    logits = load_layer(path, "logit").values
    assignments = _cluster_table(clusters["assignments"])
    pairs = class_pairs(trained_classes, [])
    rows = []
    advance = progress.task("divergence", total=len(layers) + 1)
    entries = [("input", -1, images, None)]
    entries += [
        (layer, depth, load_layer(path, layer).values, assignments[layer].to_numpy())
        for depth, layer in enumerate(layers)
    ]
    cka = LinearCka(images, logits)
    for layer, depth, values, members in entries:
        cka_input, cka_logits = cka(values)
        for a, b in pairs:
            row = pair_divergence(
                layer, values, members, labels, a, b, folds=probe_folds, seed=seed
            )
            rows.append({**row, "depth": depth, "cka_input": cka_input, "cka_logits": cka_logits})
        advance()
    table = pd.DataFrame(rows)
    table = table[["layer", "depth", *[c for c in table.columns if c not in ("layer", "depth")]]]
    return {
        "divergence": table,
        "divergence_layer": divergence_layer(table, divergence_probe_fraction, divergence_purity),
    }


def stability_stage(
    upstream: Mapping[str, Artifact],
    *,
    inputs: list[str],
    seeds: list[int],
    cluster_method: str,
    reducer: str,
    n_components: int,
    min_cluster_size: int | None,
    min_samples: int,
    n_clusters: int,
    seed: int,
    probe_folds: int,
    divergence_probe_fraction: float,
    divergence_purity: float,
    trained_classes: list[int],
    progress: Progress,
) -> dict[str, Any]:
    """Clusters, paths and divergence layer of the same samples under several training seeds
    (``inputs``: the upstream capture of each seed, in the order of ``seeds``)."""
    settings = ClusterSettings(
        cluster_method, reducer, n_components, min_cluster_size, min_samples, n_clusters, seed
    )
    runs = {s: captured(upstream[name]) for name, s in zip(inputs, seeds, strict=True)}
    advance = progress.task("stability", total=len(runs))
    per_seed = {}
    pairs = class_pairs(trained_classes, [])  # trained vs trained
    for training_seed, (path, samples, layers) in runs.items():
        fit = fit_sample_mask(samples)
        labels = samples["label"].to_numpy()
        assigned, divergence = {}, []
        for depth, layer in enumerate(layers):
            data = load_layer(path, layer)
            _, result = cluster_layer(data, fit, settings)
            assigned[layer] = result.cluster
            for a, b in pairs:
                row = pair_divergence(
                    layer, data.values, result.cluster, labels, a, b, folds=probe_folds, seed=seed
                )
                divergence.append({**row, "depth": depth})
        per_seed[training_seed] = (pd.DataFrame(assigned), pd.DataFrame(divergence), labels)
        advance()
    return stability_tables(per_seed, divergence_probe_fraction, divergence_purity)
