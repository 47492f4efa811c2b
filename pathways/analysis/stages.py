"""Stage functions of the analysis: signatures, clusters, embedding, paths, divergence,
novelty, stability. Each reads one model's activation table (and upstream analysis outputs)
and returns tidy DataFrames; :mod:`pathways.runner` saves them as Parquet. No torch here.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pathways.analysis.activations import LayerData, layer_names, load_layer, load_samples
from pathways.analysis.cluster import LayerClusterer, unit_clusters
from pathways.analysis.differences import class_pairs, summarise_differences, unit_differences
from pathways.analysis.embed import embed_2d
from pathways.analysis.layers import divergence_layer, linear_cka, pair_divergence
from pathways.analysis.novelty import (
    energy,
    evaluate,
    knn_distance,
    mahalanobis,
    msp,
    signature_distance,
    signature_path_score,
)
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
from pathways.parallel import map_items
from pathways.progress import Progress
from pathways.store import layer_matrix


def _activations(
    inputs: Mapping[str, Any], name: str = "capture"
) -> tuple[Any, pd.DataFrame, list[str]]:
    path = inputs[name].path("activations")
    return path, load_samples(path), layer_names(path)


def _hidden(layers: list[str]) -> list[str]:
    return [name for name in layers if name != "logit"]


def signatures_stage(
    inputs: Mapping[str, Any], params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Per layer: class signatures, per-unit differences for every class pair, their summary."""
    path, samples, layers = _activations(inputs)
    labels = samples["label"].to_numpy()
    pairs = class_pairs(params["trained_classes"], params["unseen_classes"])
    signatures, differences = [], []
    advance = progress.task("signatures", total=len(layers))
    for layer in layers:
        data = load_layer(path, layer)
        sig = class_signatures(
            data.values, labels, data.units, params["firing_threshold"], params["top_units"]
        )
        signatures.append(sig.assign(layer=layer))
        for a, b in pairs:
            differences.append(
                unit_differences(data.values, labels, data.units, a, b, params["alpha"]).assign(
                    layer=layer
                )
            )
        advance()
    differences_table = _layer_first(pd.concat(differences, ignore_index=True))
    return {
        "signatures": _layer_first(pd.concat(signatures, ignore_index=True)),
        "differences": differences_table,
        "difference_summary": summarise_differences(differences_table),
    }


def _layer_first(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["layer", *[c for c in frame.columns if c != "layer"]]]


def _clusterer(params: dict[str, Any]) -> LayerClusterer:
    return LayerClusterer(
        method=params["cluster_method"],
        reducer=params["reducer"],
        n_components=params["n_components"],
        min_cluster_size=params["min_cluster_size"],
        min_samples=params["min_samples"],
        n_clusters=params["n_clusters"],
        seed=params["seed"],
    )


def fit_sample_mask(samples: pd.DataFrame) -> np.ndarray:
    """The samples clusters and novelty models are fitted on: trained classes, train split."""
    return (samples["seen"].to_numpy()) & (samples["split"].astype(str).to_numpy() == "train")


def cluster_layer(
    data: LayerData, fit: np.ndarray, params: dict[str, Any]
) -> tuple[LayerClusterer, Any]:
    clusterer = _clusterer(params).fit(data.values[fit])
    return clusterer, clusterer.assign(data.values, fit)


def _cluster_one(path: Path, fit: np.ndarray, params: dict[str, Any], layer: str) -> dict:
    """One layer's clustering and unit groups (small results only: they may cross a network)."""
    data = load_layer(path, layer)
    clusterer, result = cluster_layer(data, fit, params)
    groups, dead = unit_clusters(data.values, params["unit_correlation"])
    return {
        "result": result,
        "n_units": data.values.shape[1],
        "n_clusters": clusterer.n_clusters_,
        "degenerate": bool(getattr(clusterer, "degenerate_", False)),
        "units": pd.DataFrame(
            {"layer": layer, "unit": data.units, "unit_group": groups, "dead": dead}
        ),
    }


def clusters_stage(
    inputs: Mapping[str, Any], params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Per layer: sample clusters (fit on trained train samples, others assigned), their class
    composition, and unit groups by co-activation."""
    path, samples, layers = _activations(inputs)
    fit = fit_sample_mask(samples)
    labels = samples["label"].to_numpy()
    assignments, composition, summary, units = [], [], [], []
    advance = progress.task("clusters", total=len(layers))
    fitted = map_items(functools.partial(_cluster_one, path, fit, params), layers, advance)
    for layer, one in zip(layers, fitted, strict=True):
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
        assignments.append(frame)
        counts = (
            frame.assign(**{"class": labels})
            .groupby(["cluster", "class"])
            .size()
            .rename("n")
            .reset_index()
        )
        counts["share"] = counts["n"] / counts.groupby("cluster")["n"].transform("sum")
        composition.append(counts.assign(layer=layer))
        summary.append(
            {
                "layer": layer,
                "n_units": one["n_units"],
                "n_clusters": one["n_clusters"],
                "noise_share_fitted": float(result.outlier[fit].mean()),
                "outlier_share_unseen": float(result.outlier[~samples["seen"].to_numpy()].mean())
                if (~samples["seen"]).any()
                else np.nan,
                "degenerate": one["degenerate"],
            }
        )
        units.append(one["units"])
    return {
        "assignments": pd.concat(assignments, ignore_index=True),
        "composition": _layer_first(pd.concat(composition, ignore_index=True)),
        "cluster_summary": pd.DataFrame(summary),
        "unit_groups": pd.concat(units, ignore_index=True),
    }


def _embed_layer(path: Path, seed: int, neighbors: int, layer: str) -> np.ndarray:
    return embed_2d(load_layer(path, layer).values, seed, neighbors)


def embedding_stage(
    inputs: Mapping[str, Any], params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Per layer: a seeded 2-D UMAP of every sample, for the explorer."""
    path, samples, layers = _activations(inputs)
    frames = []
    advance = progress.task("embedding", total=len(layers))
    maps = map_items(
        functools.partial(_embed_layer, path, params["seed"], params["embedding_neighbors"]),
        layers,
        advance,
    )
    for layer, xy in zip(layers, maps, strict=True):
        frames.append(
            pd.DataFrame(
                {
                    "sample_id": samples["sample_id"].to_numpy(),
                    "layer": layer,
                    "x": xy[:, 0],
                    "y": xy[:, 1],
                }
            )
        )
    return {"embedding": pd.concat(frames, ignore_index=True)}


def _cluster_table(assignments: pd.DataFrame, column: str = "cluster") -> pd.DataFrame:
    """samples × layers table of ``column`` in layer order of appearance."""
    order = list(dict.fromkeys(assignments["layer"]))
    return assignments.pivot(index="sample_id", columns="layer", values=column)[order]


def paths_stage(
    inputs: Mapping[str, Any], params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Paths of every sample through the hidden layers' clusters and the output's."""
    _, samples, _ = _activations(inputs)
    assignments = inputs["clusters"]["assignments"]
    clusters = _cluster_table(assignments)
    outliers = _cluster_table(assignments, "outlier").astype(bool)
    labels = samples["label"].to_numpy()
    paths = path_strings(clusters)
    sample_paths = samples[["sample_id", "label", "split", "seen"]].assign(path=paths.to_numpy())
    for layer in clusters.columns:
        sample_paths[f"cluster_{layer}"] = clusters[layer].to_numpy()
    reference = fit_sample_mask(samples)
    return {
        "sample_paths": sample_paths,
        "distribution": path_distribution(paths, labels),
        "transitions": transitions(clusters, labels),
        "path_purity": path_purity(
            paths[samples["seen"].to_numpy()], labels[samples["seen"].to_numpy()]
        ),
        "class_purity": class_path_purity(paths, labels),
        "unseen_flow": unseen_flow(
            clusters, outliers, labels, reference, sorted(params["unseen_classes"])
        ),
    }


def divergence_stage(
    inputs: Mapping[str, Any], params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Per layer and trained pair: probe accuracy, signature distance, purity, NMI, CKA."""
    path, samples, layers = _activations(inputs)
    labels = samples["label"].to_numpy()
    images = read_samples(inputs["data"].path("samples"))[1].reshape(len(samples), -1) / np.float32(
        255.0
    )
    logits = load_layer(path, "logit").values
    assignments = _cluster_table(inputs["clusters"]["assignments"])
    trained = sorted(params["trained_classes"])
    pairs = [(a, b) for i, a in enumerate(trained) for b in trained[i + 1 :]]
    rows = []
    advance = progress.task("divergence", total=len(layers) + 1)
    entries = [("input", -1, images, None)]
    entries += [
        (layer, depth, load_layer(path, layer).values, assignments[layer].to_numpy())
        for depth, layer in enumerate(layers)
    ]
    for layer, depth, values, clusters in entries:
        cka_input, cka_logits = linear_cka(values, images), linear_cka(values, logits)
        for a, b in pairs:
            row = pair_divergence(
                layer,
                values,
                clusters,
                labels,
                a,
                b,
                folds=params["probe_folds"],
                seed=params["seed"],
            )
            rows.append({**row, "depth": depth, "cka_input": cka_input, "cka_logits": cka_logits})
        advance()
    table = pd.DataFrame(rows)
    table = table[["layer", "depth", *[c for c in table.columns if c not in ("layer", "depth")]]]
    return {
        "divergence": table,
        "divergence_layer": divergence_layer(
            table, params["divergence_probe_fraction"], params["divergence_purity"]
        ),
    }


def novelty_stage(
    inputs: Mapping[str, Any], params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Novelty scores of every sample (ours and baselines) and their AUROC / FPR@95 on test."""
    path, samples, layers = _activations(inputs)
    labels = samples["label"].to_numpy()
    seen = samples["seen"].to_numpy()
    fit = fit_sample_mask(samples)
    test = samples["split"].astype(str).to_numpy() == "test"
    hidden = {layer: load_layer(path, layer).values for layer in _hidden(layers)}
    logits = load_layer(path, "logit").values
    probs = layer_matrix(path, "prob")
    advance = progress.task("novelty", total=len(hidden) + 3)
    paths = (
        inputs["paths"]["sample_paths"]
        .set_index("sample_id")
        .loc[samples["sample_id"], "path"]
        .to_numpy()
    )
    scores: dict[str, np.ndarray] = {
        "signature_path": signature_path_score(hidden, paths, labels, fit)
    }
    advance()
    scores |= {
        "msp": msp(probs),
        "energy": energy(logits),
        "knn": knn_distance(hidden[list(hidden)[-1]], fit, params["knn_k"]),
    }
    advance()
    for layer, values in hidden.items():
        scores[f"mahalanobis:{layer}"] = mahalanobis(values, labels, fit)
        advance()
    metrics = evaluate(scores, ~seen, test)
    maha = metrics[metrics["method"].str.startswith("mahalanobis:")]
    last = f"mahalanobis:{list(hidden)[-1]}"
    metrics["kind"] = np.where(metrics["method"] == "signature_path", "ours", "baseline")
    metrics["note"] = ""
    best = maha.loc[maha["auroc"].idxmax()]
    oracle = pd.DataFrame(
        [
            {
                **best.to_dict(),
                "method": "mahalanobis:best-layer",
                "kind": "oracle",
                "note": f"layer {best['method'].split(':')[1]} chosen on the evaluation data (upper bound)",
            }
        ]
    )
    metrics.loc[metrics["method"] == last, "note"] = "last hidden layer (standard choice)"
    metrics = pd.concat([metrics, oracle], ignore_index=True)
    score_table = samples[["sample_id", "label", "split", "seen"]].copy()
    for method, values in scores.items():
        score_table[method] = values.astype(np.float32)
    affinity = signature_affinity(
        hidden | {"logit": logits}, labels, fit, sorted(params["unseen_classes"])
    )
    advance()
    return {"scores": score_table, "metrics": metrics, "signature_affinity": affinity}


def signature_affinity(
    layer_values: dict[str, np.ndarray], labels: np.ndarray, fit: np.ndarray, unseen: list[int]
) -> pd.DataFrame:
    """Per layer and unseen class: the share of its samples whose closest trained signature is
    each trained class."""
    rows = []
    trained = np.unique(labels[fit])
    for depth, (layer, values) in enumerate(layer_values.items()):
        distances = np.stack(
            [signature_distance(values, labels, fit & (labels == c)) for c in trained], axis=1
        )
        closest = trained[distances.argmin(axis=1)]
        for u in unseen:
            members = labels == u
            for c in trained:
                rows.append(
                    {
                        "layer": layer,
                        "depth": depth,
                        "unseen_class": u,
                        "trained_class": int(c),
                        "share": float((closest[members] == c).mean()),
                    }
                )
    return pd.DataFrame(rows)


def stability_stage(
    inputs: Mapping[str, Any], params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Clusters, paths and divergence layer of the same samples under several training seeds."""
    runs = {}
    for name, seed in zip(params["inputs"], params["seeds"], strict=True):
        path, samples, layers = _activations(inputs, name)
        runs[seed] = (path, samples, layers)
    advance = progress.task("stability", total=len(runs))
    per_seed = {}
    for seed, (path, samples, layers) in runs.items():
        fit = fit_sample_mask(samples)
        labels = samples["label"].to_numpy()
        clusters, divergence = {}, []
        for depth, layer in enumerate(layers):
            data = load_layer(path, layer)
            _, result = cluster_layer(data, fit, params)
            clusters[layer] = result.cluster
            trained = sorted(params["trained_classes"])
            for i, a in enumerate(trained):
                for b in trained[i + 1 :]:
                    row = pair_divergence(
                        layer,
                        data.values,
                        result.cluster,
                        labels,
                        a,
                        b,
                        folds=params["probe_folds"],
                        seed=params["seed"],
                    )
                    divergence.append({**row, "depth": depth})
        per_seed[seed] = (pd.DataFrame(clusters), pd.DataFrame(divergence), labels)
        advance()
    return stability_tables(
        per_seed, params["divergence_probe_fraction"], params["divergence_purity"]
    )
