"""The ``train`` stage: train one model on the trained classes (or load its checkpoint), find its
analysis layers, and save its weights, description and metrics (torch)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from pathways.data.subsets import (
    ImageFormat,
    read_image_format,
    read_samples,
)
from pathways.data.user_files import locate, search_folders
from pathways.engine.artifacts import Artifact
from pathways.engine.progress import Progress
from pathways.errors import ModelError, PathwaysError, TrainingDiverged
from pathways.experiment.model_types import comes_trained, model_type
from pathways.nets.inputs import model_inputs
from pathways.nets.layer_choice import analysis_layers, spatial_layers
from pathways.nets.models import build_model
from pathways.nets.trained import model_spec, snapshot_bytes
from pathways.nets.training import evaluate_classifier, seeded, train_classifier
from pathways.nets.user_models import cpu_state, load_checkpoint, state_bytes


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
    if refused := kind.refuses(image.shape):
        raise ModelError(f"models: {spec.name!r}: {refused}")
    tensors = _split_tensors(samples, images, classes, kind.input_kind, image, on)
    folders = [str(f) for f in search_folders(experiment_dir)]
    with seeded(training["seed"]):
        network = build_model(spec, len(classes), image, folders).to(on)
    layers = _layers(network, spec, tensors["train"][0][:2], len(classes))
    _check_explain_layer(spec, layers)
    kept: dict[int, dict[str, torch.Tensor]] = {}
    if comes_trained(spec):
        result = _load_checkpoints(network, spec, experiment_dir, kept, tensors, classes, on)
    else:
        result = _train(network, spec.name, tensors, classes, training, progress, kept)
    final = result.history[result.history["epoch"] == result.history["epoch"].max()]
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
        "class_names": _class_names(samples),
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


def _layers(network: torch.nn.Module, spec: Any, x: torch.Tensor, n_classes: int) -> dict:
    """The model's analysis layers (its declared ``layers``, or found by a forward pass)."""
    try:
        return analysis_layers(network, x, n_classes, getattr(spec, "layers", None))
    except ModelError as exc:
        raise ModelError(f"models: {spec.name!r}: {exc}") from None


def _load_checkpoints(
    network: torch.nn.Module,
    spec: Any,
    experiment_dir: str | None,
    kept: dict[int, dict[str, torch.Tensor]],
    tensors: dict[str, tuple[torch.Tensor, torch.Tensor]],
    classes: list[int],
    on: torch.device,
) -> Any:
    """A model that comes trained: its snapshot checkpoints (into ``kept``), then its final
    weights, measured on both splits."""
    for epoch, name in sorted(spec.snapshot_checkpoints.items()):  # before the final weights
        load_checkpoint(network, locate(name, experiment_dir), spec.name)
        kept[epoch] = cpu_state(network)
    load_checkpoint(network, locate(spec.checkpoint, experiment_dir), spec.name)
    network.to(on)
    return evaluate_classifier(network, *tensors["train"], *tensors["test"], classes=classes)


def _class_names(samples: pd.DataFrame) -> dict[str, str]:
    """Label (as text) → class name, as the data stage stored them."""
    pairs = samples[["label", "class_name"]].drop_duplicates().to_numpy()
    return {str(int(label)): str(name) for label, name in pairs}


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
