"""Occlusion sensitivity, Grad-CAM and DeconvNet projections, per sample.

Captum does the three methods; this module adapts them to pathways' questions:

- occlusion is measured on *probabilities* (softmax), so a map reads "how much the probability
  of this class drops when a black patch covers this pixel", as in Zeiler & Fergus;
- Grad-CAM keeps only positive evidence (ReLU, as in the paper) and is upsampled to the input;
- the DeconvNet projects the single strongest activation of a layer, all others set to zero —
  Zeiler & Fergus's procedure. Captum's ``NeuronDeconvolution`` projects a chosen neuron, but
  has no notion of "the strongest one of this sample", so :func:`strongest_activation` finds it.

All functions take any ``nn.Module`` and module names, and return NumPy arrays.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from captum.attr import LayerAttribution, LayerGradCam, NeuronDeconvolution, Occlusion
from torch import nn


def _module(model: nn.Module, name: str) -> nn.Module:
    modules = dict(model.named_modules())
    if name not in modules or not name:
        known = ", ".join(n for n in modules if n)
        raise KeyError(f"layer {name!r} is not a module of the model — choose from: {known}")
    return modules[name]


def _probabilities(model: nn.Module):  # noqa: ANN202
    return lambda x: torch.softmax(model(x), dim=1)


def occlusion_maps(
    model: nn.Module,
    x: torch.Tensor,
    targets: np.ndarray,
    patch: int = 6,
    stride: int = 2,
    batch_size: int = 64,
) -> np.ndarray:
    """float32[n, h, w]: mean drop in ``softmax[target]`` when a black ``patch``×``patch``
    square covering the pixel replaces the input (positive: the pixel supports the class).

    Pixels no patch position covers get 0.
    """
    model.eval()
    occlusion = Occlusion(_probabilities(model))
    channels = x.shape[1]
    out = []
    for start in range(0, len(x), batch_size):
        chunk = x[start : start + batch_size]
        attr = occlusion.attribute(
            chunk,
            sliding_window_shapes=(channels, patch, patch),
            strides=(channels, stride, stride),
            target=torch.as_tensor(targets[start : start + batch_size], dtype=torch.long),
            baselines=0.0,
            perturbations_per_eval=32,
        )
        out.append(attr.sum(1).detach().numpy())
    return np.nan_to_num(np.concatenate(out)).astype(np.float32)


def gradcam_maps(model: nn.Module, layer: str, x: torch.Tensor, targets: np.ndarray) -> np.ndarray:
    """float32[n, h, w]: Grad-CAM of ``targets`` (logits) at conv ``layer``, ReLU'd and
    bilinearly upsampled to the input size."""
    model.eval()
    cam = LayerGradCam(model, _module(model, layer))
    attr = cam.attribute(
        x, target=torch.as_tensor(targets, dtype=torch.long), relu_attributions=True
    )
    up = LayerAttribution.interpolate(attr, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    return up.sum(1).detach().numpy().astype(np.float32)


def strongest_activation(model: nn.Module, layer: str, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Where each sample's strongest activation of ``layer`` is: ``channel``, ``y``, ``x``
    (spatial position in the feature map) and ``value``."""
    model.eval()
    seen: list[torch.Tensor] = []
    handle = _module(model, layer).register_forward_hook(lambda _m, _i, o: seen.append(o))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    out = seen[0]
    flat = out.flatten(1)
    value, index = flat.max(1)
    c, h, w = out.shape[1:]
    return {
        "channel": (index // (h * w)).numpy(),
        "y": ((index % (h * w)) // w).numpy(),
        "x": (index % w).numpy(),
        "value": value.numpy().astype(np.float32),
        "flat_index": index.numpy(),
    }


def deconv_projections(
    model: nn.Module, layer: str, x: torch.Tensor, flat_index: np.ndarray
) -> np.ndarray:
    """float32[n, h, w]: DeconvNet projection to pixel space of one activation of ``layer``
    per sample (``flat_index`` into the flattened feature maps, e.g. the strongest one).

    Zeiler & Fergus's steps, done by Captum's deconvolution rule on the backward pass: unpooling
    with the switches of the forward max-pooling, rectification (ReLU of the signal going back),
    and transposed convolution with the same filters. Meaningful for ReLU networks only.
    """
    model.eval()
    index = torch.as_tensor(flat_index, dtype=torch.long)

    def selector(output: torch.Tensor) -> torch.Tensor:
        return output.flatten(1).gather(1, index[: len(output), None]).squeeze(1)

    deconv = NeuronDeconvolution(model, _module(model, layer))
    with warnings.catch_warnings():  # Captum notes that it hooks the ReLUs for the pass
        warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU")
        attr = deconv.attribute(x.clone().requires_grad_(True), neuron_selector=selector)
    return attr.sum(1).detach().numpy().astype(np.float32)
