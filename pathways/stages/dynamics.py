"""The dynamics stage: the three answers at every training snapshot (``training.snapshots``).

The train step keeps the weights of the listed epochs (``snapshots.pt``); this stage draws one
seeded subset of the experiment's samples (``analysis.dynamics_samples``, every class, both
splits), captures it through the final network once (the reference for CKA) and through each
snapshot in turn, and measures each snapshot as
:func:`pathways.analysis.dynamics.snapshot_measures` describes. One snapshot's activations are
in memory at a time, whatever the number of snapshots; they are written as a partitioned
dataset ``activations/model=M/epoch=E/layer=L/part-0.parquet`` (sample_id, label, values: a list of
the layer's units; captured a second time, lazily, as the dataset is written), beside the
tables of measures and each epoch's aligned 2-D maps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from pathways.analysis.cluster import ClusterSettings
from pathways.analysis.dynamics import (
    DynamicsSettings,
    SnapshotSamples,
    aligned_map,
    snapshot_measures,
)
from pathways.data.subsets import ImageFormat, read_samples
from pathways.engine.artifacts import Artifact, Partitioned
from pathways.engine.progress import Progress
from pathways.nets.capture import layer_reducers, of_layers, stream_activations
from pathways.nets.inputs import input_batches
from pathways.nets.trained import load_trained_model, read_snapshots
from pathways.store.activations import META_KEY

TABLES = ("pairs", "layers", "divergence", "affinity", "predictions", "novelty")


def draw_samples(samples: pd.DataFrame, n: int, seed: int) -> np.ndarray:
    """Row indices of a seeded draw of ``n`` samples (all when fewer), in sample order."""
    if len(samples) <= n:
        return np.arange(len(samples))
    return np.sort(np.random.default_rng(seed).choice(len(samples), size=n, replace=False))


def _forward(
    network: torch.nn.Module, images: np.ndarray, description: dict[str, Any], device: str
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every hidden layer (network order) and the logits of ``images``."""
    hidden = description["hidden_layers"]
    image = ImageFormat.from_json(description["image"])
    batches = input_batches(images, description["input_kind"], image, 512, torch.device(device))
    parts: dict[str, list[np.ndarray]] = {layer: [] for layer in hidden}
    logits = []
    for recorded, out in stream_activations(
        network, batches, layer_reducers(hidden), device=device
    ):
        by_layer: dict[str, list[np.ndarray]] = {}
        for key, values in of_layers(recorded, hidden).items():  # conv: per-channel mean, max
            by_layer.setdefault(key.partition(":")[0], []).append(values.reshape(len(values), -1))
        for layer, pieces in by_layer.items():
            parts[layer].append(np.concatenate(pieces, axis=1))
        logits.append(out)
    layers = {k: np.concatenate(v).astype(np.float32) for k, v in parts.items() if v}
    return layers, np.concatenate(logits).astype(np.float32)


def dynamics_stage(
    data: Artifact,
    train: Artifact,
    *,
    model_name: str,
    training: dict[str, Any],
    trained_classes: list[int],
    unseen_classes: list[int],
    dynamics_samples: int,
    cluster_method: str,
    reducer: str,
    n_components: int,
    min_cluster_size: int | None,
    min_samples: int,
    n_clusters: int,
    alpha: float,
    knn_k: int,
    divergence_probe_fraction: float,
    divergence_purity: float,
    seed: int,
    device: str = "cpu",
    progress: Progress,
) -> dict[str, Any]:
    """Measures of every training snapshot on one seeded subset of samples; the snapshots'
    activations as a partitioned dataset; aligned 2-D maps per epoch and layer."""
    description = train["model"]
    meta, images, samples = _subset(data, dynamics_samples, seed, trained_classes, unseen_classes)
    clusterer = ClusterSettings(
        cluster_method, reducer, n_components, min_cluster_size, min_samples, n_clusters, seed
    ).clusterer()
    probe = (divergence_probe_fraction, divergence_purity)
    settings = DynamicsSettings(clusterer, seed, alpha, knn_k, *probe)
    snapshots = read_snapshots(train.path("snapshots.pt"))
    epochs = sorted(snapshots)
    network = load_trained_model(description, train["weights.pt"], device)
    final, final_logits = _forward(network, images, description, device)
    final["logit"] = final_logits
    tables: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    maps, previous = [], {}
    advance = progress.task(f"dynamics {model_name}", total=len(epochs))
    for epoch in epochs:
        network.load_state_dict(snapshots[epoch])
        layers, logits = _forward(network, images, description, device)
        measured = snapshot_measures(epoch, layers, logits, final, samples, settings)
        for name in TABLES:
            tables[name].append(measured[name])
        maps.append(_maps(meta, epoch, {**layers, "logit": logits}, previous, seed))
        del layers, logits
        advance(1, note=f"epoch {epoch}")
    outputs: dict[str, Any] = {
        name: pd.concat(frames, ignore_index=True) for name, frames in tables.items()
    }
    outputs["embedding"] = pd.concat(maps, ignore_index=True)
    outputs["samples"] = meta
    outputs["activations"] = Partitioned(
        _parts(model_name, snapshots, epochs, network, images, meta, description, device)
    )
    return outputs


def _subset(
    data: Artifact, n: int, seed: int, trained: list[int], unseen: list[int]
) -> tuple[pd.DataFrame, np.ndarray, SnapshotSamples]:
    """The seeded subset every snapshot is measured on: its samples table, images, and which
    of them are fitted and which are test samples."""
    meta, images = read_samples(data.path("samples"))
    rows = draw_samples(meta, n, seed)
    meta, images = meta.iloc[rows].reset_index(drop=True), images[rows]
    labels = meta["label"].to_numpy()
    split = meta["split"].astype(str).to_numpy()
    samples = SnapshotSamples(
        labels,
        np.isin(labels, trained) & (split == "train"),
        split == "test",
        list(trained),
        [c for c in unseen if c in set(labels)],
    )
    return meta, images, samples


def _maps(
    meta: pd.DataFrame,
    epoch: int,
    layers: dict[str, np.ndarray],
    previous: dict[str, np.ndarray],
    seed: int,
) -> pd.DataFrame:
    """One epoch's 2-D map of every layer, each aligned to ``previous`` (the last epoch's
    maps, updated here)."""
    frames = []
    for layer, values in layers.items():
        points = aligned_map(values, previous.get(layer), seed)
        previous[layer] = points
        frames.append(
            pd.DataFrame(
                {
                    "sample_id": meta["sample_id"].to_numpy(),
                    "epoch": epoch,
                    "layer": layer,
                    "x": points[:, 0],
                    "y": points[:, 1],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _parts(
    model_name: str,
    snapshots: dict[int, dict[str, torch.Tensor]],
    epochs: list[int],
    network: torch.nn.Module,
    images: np.ndarray,
    meta: pd.DataFrame,
    description: dict[str, Any],
    device: str,
) -> Iterator[tuple[dict[str, Any], pa.Table]]:
    """One part per (epoch, layer): sample id, label and the layer's values as one list
    column ``values``, captured again one snapshot at a time."""
    ids = pa.table({"sample_id": meta["sample_id"].to_numpy(), "label": meta["label"].to_numpy()})
    for epoch in epochs:
        network.load_state_dict(snapshots[epoch])
        layers, logits = _forward(network, images, description, device)
        for layer, values in {**layers, "logit": logits}.items():
            flat = np.ascontiguousarray(values, dtype=np.float32)
            offsets = pa.array(np.arange(0, flat.size + 1, flat.shape[1], dtype=np.int32))
            # a list column (not fixed-size): every part has the same schema, whatever its units
            table = ids.append_column(
                "values", pa.ListArray.from_arrays(offsets, pa.array(flat.reshape(-1)))
            )
            meta_json = {META_KEY: json.dumps({"layer": layer, "epoch": epoch})}
            yield (
                {"model": model_name, "epoch": int(epoch), "layer": layer},
                table.replace_schema_metadata(meta_json),
            )
