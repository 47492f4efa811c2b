"""The stages that touch the network: data → train → capture (torch).

Each takes its inputs (upstream :class:`~pathways.engine.artifacts.Artifact` objects) by name and its
parameters as keyword-only arguments, returns ``{output name: value}`` and knows nothing of
paths; :mod:`pathways.engine.runner` opens the inputs and saves the outputs. This module imports
torch; the runner imports it only when one of these stages has to run.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from pathways.data.sources import load_source
from pathways.data.subsets import (
    IMAGES_KEY,
    ImageFormat,
    normalisation,
    read_image_format,
    read_samples,
    select_samples,
)
from pathways.data.user_files import locate, search_folders
from pathways.engine.artifacts import Artifact, StreamSource
from pathways.engine.fanout import map_items, spreading
from pathways.engine.progress import Progress
from pathways.errors import ModelError, PathwaysError, TrainingDiverged
from pathways.experiment.model_types import comes_trained, model_type
from pathways.nets.capture import layer_reducers, of_layers, stream_activations
from pathways.nets.inputs import input_batches, model_inputs
from pathways.nets.layer_choice import analysis_layers, spatial_layers
from pathways.nets.memory import release_freed_memory
from pathways.nets.models import build_model
from pathways.nets.trained import load_trained_model, model_spec, snapshot_bytes
from pathways.nets.training import evaluate_classifier, seeded, train_classifier
from pathways.nets.user_models import cpu_state, load_checkpoint, state_bytes
from pathways.store.activations import activation_table, all_finite, feature_map_table


def data_stage(
    *,
    source: str,
    trained_classes: list[int],
    unseen_classes: list[int],
    samples_per_class: int | None,
    test_fraction: float,
    split_seed: int,
    image_size: list[int] | None,
    channels: int | None,
    normalize: str,
    mean: list[float] | None,
    std: list[float] | None,
    cache_dir: str,
    data_location: str,
    progress: Progress,
) -> dict[str, Any]:
    """Select the experiment's samples and split them; outputs ``samples`` (with images, their
    shape and the normalisation models get, see :class:`~pathways.data.subsets.ImageFormat`).
    ``data_location``: the resolved folder or file the source reads ("" for none)."""
    digits = load_source(
        source,
        Path(data_location) if data_location else None,
        cache_dir,
        image_size=tuple(image_size) if image_size else None,
        channels=channels,
        only=set(trained_classes) | set(unseen_classes),
    )
    samples = select_samples(
        digits,
        trained_classes,
        unseen_classes,
        test_fraction=test_fraction,
        split_seed=split_seed,
        samples_per_class=samples_per_class,
    )
    images = digits.images[samples["source_index"].to_numpy()]
    fit = samples["seen"].to_numpy() & (samples["split"].astype(str).to_numpy() == "train")
    image = ImageFormat(images.shape[1:], *normalisation(images[fit], normalize, mean, std))
    table = pa.Table.from_pandas(samples, preserve_index=False)
    flat = pa.array(images.reshape(-1), type=pa.uint8())
    table = table.append_column("image", pa.FixedSizeListArray.from_arrays(flat, images[0].size))
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), IMAGES_KEY: json.dumps(image.to_json())}
    )
    progress.log(
        f"{len(samples)} samples ({image.describe()}) from {digits.name} "
        f"({int(samples['seen'].sum())} of trained classes, {int((~samples['seen']).sum())} unseen)"
    )
    return {"samples": table}


def _split_tensors(
    samples: pd.DataFrame,
    images: np.ndarray,
    classes: list[int],
    kind: str,
    image: ImageFormat,
    on: torch.device,
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The trained classes' (inputs, class indices) of each split."""
    seen = samples["seen"].to_numpy()
    index = {c: i for i, c in enumerate(classes)}
    tensors = {}
    for split in ("train", "test"):
        rows = seen & (samples["split"].to_numpy() == split)
        x = model_inputs(images[rows], kind, image).to(on)
        y = torch.tensor([index[int(c)] for c in samples["label"].to_numpy()[rows]], device=on)
        tensors[split] = (x, y)
    return tensors


def train_stage(
    data: Artifact,
    *,
    model: dict[str, Any],
    training: dict[str, Any],
    trained_classes: list[int],
    device: str = "cpu",
    experiment_dir: str | None = None,
    progress: Progress,
) -> dict[str, Any]:
    """Train one model on the trained classes' train split — or, for a model with a
    checkpoint, load it and measure it there — and find its analysis layers; outputs weights
    and metrics."""
    spec, on = model_spec(model), torch.device(device)
    kind = model_type(spec.type)
    classes = list(trained_classes)  # output i is trained_classes[i]
    samples, images = read_samples(data.path("samples"))
    image = read_image_format(data.path("samples"))
    refused = kind.refuses(image.shape)
    if refused:
        raise ModelError(f"models: {spec.name!r}: {refused}")
    tensors = _split_tensors(samples, images, classes, kind.input_kind, image, on)
    folders = [str(f) for f in search_folders(experiment_dir)]
    with seeded(training["seed"]):
        network = build_model(spec, len(classes), image, folders).to(on)
    try:
        layers = analysis_layers(
            network, tensors["train"][0][:2], len(classes), getattr(spec, "layers", None)
        )
    except ModelError as exc:
        raise ModelError(f"models: {spec.name!r}: {exc}") from None
    _check_explain_layer(spec, layers)
    kept: dict[int, dict[str, torch.Tensor]] = {}
    if comes_trained(spec):
        for epoch, name in sorted(spec.snapshot_checkpoints.items()):  # before the final weights
            load_checkpoint(network, locate(name, experiment_dir), spec.name)
            kept[epoch] = cpu_state(network)
        load_checkpoint(network, locate(spec.checkpoint, experiment_dir), spec.name)
        network.to(on)
        result = evaluate_classifier(network, *tensors["train"], *tensors["test"], classes=classes)
        last = 0
    else:
        result = _train(network, spec.name, tensors, classes, training, progress, kept)
        last = training["epochs"]
    final = result.history[result.history["epoch"] == last]
    acc = dict(zip(final["split"], final["accuracy"], strict=True))
    loaded = " (its checkpoint, not trained here)" if comes_trained(spec) else ""
    progress.log(f"train accuracy {acc['train']:.3f}, test accuracy {acc['test']:.3f}{loaded}")
    description = {
        "spec": model,
        "classes": classes,
        "input_kind": kind.input_kind,
        "image": image.to_json(),
        "hidden_layers": layers,
        "parameters": sum(p.numel() for p in network.parameters()),
        "import_paths": folders if spec.type == "torch" else [],
        "class_names": {
            str(int(label)): str(name)
            for label, name in samples[["label", "class_name"]].drop_duplicates().to_numpy()
        },
        "trained": not comes_trained(spec),
    }
    outputs = {
        "weights.pt": state_bytes(network),
        "model": description,
        "history": result.history,
        "per_class": result.per_class,
        "confusion": result.confusion,
    }
    if kept:
        outputs["snapshots.pt"] = snapshot_bytes(kept)
    return outputs


def _check_explain_layer(spec: Any, layers: dict[str, str]) -> None:
    """A torch model's ``explain_layer`` is one of its spatial analysis layers (checked here,
    before training, not when the explain step runs)."""
    wanted = getattr(spec, "explain_layer", None)
    spatial = spatial_layers(layers)
    if wanted is not None and wanted not in spatial:
        raise ModelError(
            f"models: {spec.name!r}: explain_layer {wanted!r} is not one of its analysis layers "
            f"with spatial maps — use one of {', '.join(spatial) or '(none: name one in layers)'}"
        )


def _train(
    network: torch.nn.Module,
    name: str,
    tensors: dict[str, tuple[torch.Tensor, torch.Tensor]],
    classes: list[int],
    training: dict[str, Any],
    progress: Progress,
    kept: dict[int, dict[str, torch.Tensor]] | None = None,
) -> Any:
    """Train ``network``; the state of each epoch in ``training["snapshots"]`` goes to ``kept``
    (CPU copies)."""
    advance = progress.task(f"train {name}", total=training["epochs"])

    def keep(epoch: int, model: torch.nn.Module) -> None:
        if kept is not None:
            kept[epoch] = cpu_state(model)

    try:
        return train_classifier(
            network,
            *tensors["train"],
            *tensors["test"],
            classes=classes,
            epochs=training["epochs"],
            batch_size=training["batch_size"],
            learning_rate=training["learning_rate"],
            seed=training["seed"],
            on_epoch=lambda epoch, m: advance(
                1, note=f"loss {m['train_loss']:.3f} test acc {m['test_accuracy']:.3f}"
            ),
            snapshots=training.get("snapshots") or (),
            on_snapshot=keep,
        )
    except TrainingDiverged as exc:
        raise PathwaysError(_diverged_line(name, training, exc)) from None


def _diverged_line(model: str, training: dict[str, Any], exc: TrainingDiverged) -> str:
    rate = training["learning_rate"]
    lower = "0.001 (the default)" if rate > 0.001 else f"{rate / 10:g}"
    return (
        f"training of model {model!r} (seed {training['seed']}) diverged: {exc} — nothing was "
        f"saved; lower training.learning_rate (now {rate:g}), e.g. to {lower}, and run again"
    )


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
