"""A trained network back from the store: its spec, weights and training snapshots.

The train stage saves a model as a JSON description (spec, classes, image format, import paths)
and a ``state_dict``; explanation, capture and the training dynamics rebuild it from those.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import torch

from pathways.data.subsets import ImageFormat
from pathways.errors import StoreError
from pathways.experiment.model_types import model_type
from pathways.nets.inputs import PixelInput
from pathways.nets.models import build_model


def model_spec(model: dict[str, Any]) -> Any:
    """The typed spec of a model from its JSON form (the train step's ``model["spec"]``)."""
    return model_type(model["type"]).spec.model_validate(model)


def load_trained_model(
    description: dict[str, Any], weights: bytes, device: str = "cpu"
) -> torch.nn.Module:
    """Rebuild a trained model from the train stage's ``model`` description and weights."""
    model = build_model(
        model_spec(description["spec"]),
        len(description["classes"]),
        ImageFormat.from_json(description["image"]),
        description.get("import_paths", []),
    )
    name = description["spec"].get("name", "?")
    try:
        state = torch.load(io.BytesIO(weights), map_location=device, weights_only=True)
        model.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(
            f"train/{name}: the saved weights do not fit the model its config "
            f"describes ({first}) — re-train it with `pathways run --only "
            f"train/{name} --force`"
        ) from None
    return model.to(device).eval()


def snapshot_bytes(kept: dict[int, dict[str, torch.Tensor]]) -> bytes:
    """The kept snapshots (epoch → state dict) as one ``torch.save`` file."""
    buffer = io.BytesIO()
    torch.save({int(epoch): state for epoch, state in sorted(kept.items())}, buffer)
    return buffer.getvalue()


def read_snapshots(path: str | Path) -> dict[int, dict[str, torch.Tensor]]:
    """The snapshots (epoch → state dict) of a ``snapshots.pt`` file, memory-mapped."""
    return torch.load(path, map_location="cpu", weights_only=True, mmap=True)


def explainable(
    description: dict[str, Any], weights: bytes
) -> tuple[torch.nn.Module, PixelInput, ImageFormat]:
    """The trained network (its in-place activations made out-of-place: an in-place ReLU
    would break the backward hooks), the same network taking [0, 1] pixels, and the images'
    format."""
    network = load_trained_model(description, weights)
    for module in network.modules():
        if getattr(module, "inplace", False):
            module.inplace = False
    image = ImageFormat.from_json(description["image"])
    return network, PixelInput(network, description["input_kind"], image).eval(), image
