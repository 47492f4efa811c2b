"""The feature maps of every conv and pooling layer of a CNN for a few inputs."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from pathways.capture import capture_activations


def feature_maps(
    model: nn.Module, x: torch.Tensor, layers: Mapping[str, str] | None = None
) -> dict[str, np.ndarray]:
    """Layer name → float32[n, channels, h, w] for input ``x``.

    ``layers`` maps a display name to a module name; by default the model's
    ``feature_map_layers`` (LeNet-5: conv1, pool1, conv2, pool2, conv3).
    """
    layers = dict(layers if layers is not None else model.feature_map_layers)
    result = capture_activations(model, [x], list(layers.values()), n_samples=len(x))
    return {name: result.activations[module] for name, module in layers.items()}
