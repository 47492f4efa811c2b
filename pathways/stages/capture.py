"""The ``capture`` stage: every sample's activations at a trained model's analysis layers,
streamed batch by batch into Parquet (torch)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from pathways.data.subsets import (
    ImageFormat,
    read_samples,
)
from pathways.engine.artifacts import Artifact, StreamSource
from pathways.engine.fanout import map_items, spreading
from pathways.engine.progress import Progress
from pathways.errors import PathwaysError
from pathways.nets.capture import layer_reducers, of_layers, stream_activations
from pathways.nets.inputs import input_batches
from pathways.nets.layer_choice import spatial_layers
from pathways.nets.memory import release_freed_memory
from pathways.nets.trained import load_trained_model
from pathways.store.activations import activation_table, all_finite, feature_map_table


def capture_stage(
    data: Artifact,
    train: Artifact,
    *,
    capture: dict[str, Any],
    device: str = "cpu",
    shard_samples: int = 0,
    scratch: Path | None = None,
    progress: Progress,
) -> dict[str, Any]:
    """Record every hidden layer, the logits and the softmax for every sample.

    Streams batch by batch into Parquet. On a Dask cluster that spreads items
    (``--executor dask --scheduler ADDRESS``) a capture of more than ``shard_samples`` samples
    is split into shards captured by the workers at the same time, each streamed into a
    scratch file; the step's output then concatenates them in order, row group by row group
    (in ``scratch``, a folder the runner gives the step).
    """
    description = train["model"]
    samples_path = data.path("samples")
    n = pq.read_metadata(samples_path).num_rows
    params = {"capture": capture, "device": device}
    produces_maps = capture["feature_maps"] and bool(spatial_layers(description["hidden_layers"]))
    names = ["activations", "feature_maps"] if produces_maps else ["activations"]
    if shard_samples and n > shard_samples and spreading() and scratch is not None:
        job = functools.partial(_capture_shard, train, samples_path, params, scratch)
        shards = shard_bounds(n, shard_samples, capture["batch_size"])
        source = StreamSource(_read_shards(map_items(job, shards), names))
    else:
        source = StreamSource(_capture_tables(train, samples_path, params, progress))
    return {name: source.output(name) for name in names}


def shard_bounds(n: int, shard_samples: int, batch_size: int) -> list[tuple[int, int]]:
    """The row ranges of a capture's shards: at most ``shard_samples`` rows each, but always
    whole capture batches (at least one), so that every forward pass sees exactly the batch the
    local executor gives it — a convolution's sums depend on the batch's shape, and the sharded
    capture is then bit-identical to the local one on any CPU."""
    size = max(shard_samples // batch_size, 1) * batch_size
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def _capture_tables(
    train: Artifact,
    samples_path: Path,
    params: dict[str, Any],
    progress: Progress,
    rows: tuple[int, int] | None = None,
) -> Iterator[dict[str, pa.Table]]:
    """The capture's tables, batch by batch (of the samples in ``rows``, default all)."""
    device = torch.device(params.get("device", "cpu"))
    description = train["model"]
    model = load_trained_model(description, train["weights.pt"], str(device))
    meta, images = read_samples(samples_path)
    if rows is not None:
        meta, images = meta.iloc[rows[0] : rows[1]], images[rows[0] : rows[1]]
    release_freed_memory()
    hidden = description["hidden_layers"]
    reducers = layer_reducers(hidden, params["capture"]["feature_maps"])
    advance = progress.task(f"capture {description['spec']['name']}", total=len(images))
    image = ImageFormat.from_json(description["image"])
    batches = stream_activations(
        model,
        input_batches(
            images, description["input_kind"], image, params["capture"]["batch_size"], device
        ),
        reducers,
        device=device,
    )
    start = 0
    for recorded, logits in batches:
        activations = of_layers(recorded, hidden)
        _check_finite(description["spec"]["name"], activations, logits, start)
        chunk = meta.iloc[start : start + len(logits)]
        start += len(logits)
        yield _batch_tables(chunk, activations, logits, description, params["capture"]["layout"])
        advance(len(logits))


def _check_finite(
    model: str, activations: dict[str, np.ndarray], logits: np.ndarray, first: int
) -> None:
    """Refuse to write NaN or infinite activations (a broken model); name the first such layer."""
    for key, values in [*activations.items(), ("logit", logits)]:
        if not all_finite(values):
            bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
            layer = key.partition(":")[0]
            raise PathwaysError(
                f"capture of model {model!r}: layer {layer} gives NaN or infinite activations "
                f"for {int(bad.sum())} of {len(values)} samples (sample_id {first + int(bad.argmax())} "
                "first) — nothing was written; the model's weights are unusable, train it again "
                "(e.g. with a lower training.learning_rate)"
            )


def _capture_shard(
    train: Artifact,
    samples_path: Path,
    params: dict[str, Any],
    scratch: Path,
    rows: tuple[int, int],
) -> dict[str, str]:
    """Capture samples ``rows`` into scratch Parquet files (one per output); return their paths."""
    from pathways.engine.progress import Silent

    writers: dict[str, pq.ParquetWriter] = {}
    files = {}
    try:
        for tables in _capture_tables(train, samples_path, params, Silent(), rows):
            for name, table in tables.items():
                if name not in writers:
                    files[name] = str(scratch / f"{rows[0]:09d}-{name}.parquet")
                    writers[name] = pq.ParquetWriter(files[name], table.schema)
                writers[name].write_table(table)
    finally:
        for writer in writers.values():
            writer.close()
    return files


def _read_shards(shards: list[dict[str, str]], names: list[str]) -> Iterator[dict[str, pa.Table]]:
    """The shards' tables in sample order, one row group at a time."""
    for files in shards:
        for name in names:
            source = pq.ParquetFile(files[name])
            meta = source.schema_arrow.metadata
            for group in range(source.num_row_groups):
                yield {name: source.read_row_group(group).replace_schema_metadata(meta)}


def _batch_tables(
    rows: pd.DataFrame,
    activations: dict[str, np.ndarray],
    logits: np.ndarray,
    description: dict[str, Any],
    layout: str,
) -> dict[str, pa.Table]:
    """The activation table (and full feature maps, if captured) of one batch of samples."""
    wide = logits.astype(np.float64)
    probs = np.exp(wide - wide.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    classes = description["classes"]
    meta = rows.copy()
    meta["predicted_class"] = np.asarray(classes)[probs.argmax(1)]
    meta["confidence"] = probs.max(1).astype(np.float32)
    layers: dict[str, tuple[str, np.ndarray]] = {}
    maps: dict[str, np.ndarray] = {}
    for key, values in activations.items():
        name, _, part = key.partition(":")
        if part == "":
            if description["hidden_layers"][name] == "dense":
                layers[name] = ("dense", values)
            else:
                maps[name] = values
        else:
            layers[key] = (f"channel_{part}", values)
    names = [str(c) for c in classes]
    outputs = {
        "logit": ("logits", names, logits),
        "prob": ("probabilities", names, probs.astype(np.float32)),
    }
    tables = {
        "activations": activation_table(meta, _in_model_order(layers, description), outputs, layout)
    }
    if maps:
        tables["feature_maps"] = feature_map_table(meta["sample_id"].to_numpy(), maps)
    return tables


def _in_model_order(layers: dict[str, tuple[str, np.ndarray]], description: dict[str, Any]) -> dict:
    order = list(description["hidden_layers"])
    parts = ["", "mean", "max"]
    return dict(
        sorted(
            layers.items(),
            key=lambda kv: (order.index(kv[0].split(":")[0]), parts.index(kv[0].partition(":")[2])),
        )
    )
