"""The feature maps of a network's spatial layers for a few inputs."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from pathways.nets.capture import capture_activations, layer_reducers


def feature_maps(
    model: nn.Module, x: torch.Tensor, layers: Mapping[str, str]
) -> dict[str, np.ndarray]:
    """Display name → float32[n, channels, h, w] for input ``x``; ``layers`` maps each display
    name to a layer key of ``model`` (``conv1``, ``network.relu#1``)."""
    result = capture_activations(
        model, [x], layer_reducers(layers.values(), feature_maps=True), n_samples=len(x)
    )
    return {name: result.activations[key] for name, key in layers.items()}
