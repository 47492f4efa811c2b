"""Occlusion, Integrated Gradients, Grad-CAM and DeconvNet projections, per sample.

Every function takes a network that takes [0, 1] pixels (a
:class:`~pathways.nets.inputs.PixelInput`, so a black patch or baseline is black whatever the
network's own input form) and layers by key (``block2``, ``relu#1``: the second call of a
reused module, as :mod:`pathways.nets.layer_choice` names them). They return NumPy arrays of the
image's height × width.

- occlusion (Captum) is measured on *probabilities*: how much the probability of this class
  drops when a black patch covers this pixel, as in Zeiler & Fergus;
- Integrated Gradients (Captum) integrates the class logit's gradient from a black image;
- Grad-CAM keeps only positive evidence (ReLU, as in the paper) and is upsampled to the image;
  it is computed here (not by Captum's ``LayerGradCam``) so that one call of a reused module
  can be the layer;
- the DeconvNet projects the single strongest activation of a layer, all others set to zero —
  Zeiler & Fergus's procedure, with Captum's deconvolution rule for the ReLUs. It inverts only
  convolutions, ReLUs and max-pooling: :func:`deconv_obstacle` says what else lies on the way.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from captum.attr import Deconvolution, IntegratedGradients, Occlusion
from torch import Tensor, nn

from pathways.nets.capture import split_key

_CHUNK = 64


def _module(model: nn.Module, key: str) -> tuple[nn.Module, int]:
    name, call = split_key(key)
    modules = dict(model.named_modules())
    if name not in modules or not name:
        known = ", ".join(n for n in modules if n)
        raise KeyError(f"layer {name!r} is not a module of the model — choose from: {known}")
    return modules[name], call or 0


class _Reached(Exception):  # noqa: N818 - a signal, not an error
    def __init__(self, output: Tensor) -> None:
        self.output = output


@contextmanager
def layer_call(model: nn.Module, key: str, stop: bool = False) -> Iterator[list[Tensor]]:
    """Within the block, the output of call ``k`` of the module of ``key`` (``relu#k``; call 0
    without ``#``) lands in the yielded list at each forward pass; with ``stop``, the pass ends
    there (raising :class:`_Reached`, which :func:`up_to` catches)."""
    module, wanted = _module(model, key)
    found: list[Tensor] = []
    calls = [0]

    def hook(_m: nn.Module, _i: Any, output: Tensor) -> None:
        if calls[0] == wanted:
            found.append(output)
            if stop:
                raise _Reached(output)
        calls[0] += 1

    pre = model.register_forward_pre_hook(lambda *_: calls.__setitem__(0, 0))
    handle = module.register_forward_hook(hook)
    try:
        yield found
    finally:
        handle.remove()
        pre.remove()


def up_to(model: nn.Module, key: str, x: Tensor) -> Tensor:
    """The output of layer ``key`` for ``x``, the rest of the forward pass not run."""
    with layer_call(model, key, stop=True) as found:
        try:
            model(x)
        except _Reached as reached:
            return reached.output
    if not found:
        raise KeyError(f"layer {key!r} did not run")
    return found[0]


def _probabilities(model: nn.Module):  # noqa: ANN202
    return lambda x: torch.softmax(model(x), dim=1)


def occlusion_maps(
    model: nn.Module,
    x: Tensor,
    targets: np.ndarray,
    patch: int = 6,
    stride: int = 2,
    batch_size: int = _CHUNK,
) -> np.ndarray:
    """float32[n, h, w]: mean drop in ``softmax[target]`` when a black ``patch``×``patch``
    square covering the pixel replaces the image (positive: the pixel supports the class).

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


def integrated_gradients(
    model: nn.Module, x: Tensor, targets: np.ndarray, steps: int = 32, batch_size: int = _CHUNK
) -> np.ndarray:
    """float32[n, h, w]: Integrated Gradients of the ``targets`` logits from a black image,
    summed over colour channels (positive: the pixel raises the class's logit)."""
    model.eval()
    method = IntegratedGradients(model)
    out = []
    for start in range(0, len(x), batch_size):
        chunk = x[start : start + batch_size]
        attr = method.attribute(
            chunk,
            baselines=torch.zeros_like(chunk),
            target=torch.as_tensor(targets[start : start + batch_size], dtype=torch.long),
            n_steps=steps,
            internal_batch_size=max(len(chunk), 1) * 4,
        )
        out.append(attr.sum(1).detach().numpy())
    return np.concatenate(out).astype(np.float32)


def gradcam_maps(
    model: nn.Module, layer: str, x: Tensor, targets: np.ndarray, batch_size: int = _CHUNK
) -> np.ndarray:
    """float32[n, h, w]: Grad-CAM of ``targets`` (logits) at ``layer`` (a 4-D output): the
    channels weighted by their mean gradient, summed, ReLU'd and bilinearly upsampled."""
    model.eval()
    out = []
    for start in range(0, len(x), batch_size):
        chunk = x[start : start + batch_size]
        wanted = torch.as_tensor(targets[start : start + batch_size], dtype=torch.long)
        with layer_call(model, layer) as found:
            logits = model(chunk)
        maps = found[0]
        score = logits.gather(1, wanted[:, None]).sum()
        (grads,) = torch.autograd.grad(score, maps)
        cam = torch.relu((grads.mean((2, 3), keepdim=True) * maps).sum(1, keepdim=True))
        up = nn.functional.interpolate(cam, size=tuple(x.shape[-2:]), mode="bilinear")
        out.append(up[:, 0].detach().numpy())
    return np.concatenate(out).astype(np.float32)


def strongest_activation(model: nn.Module, layer: str, x: Tensor) -> dict[str, np.ndarray]:
    """Where each sample's strongest activation of ``layer`` is: ``channel``, ``y``, ``x``
    (position in the feature map) and ``value``."""
    model.eval()
    with torch.no_grad():
        out = up_to(model, layer, x)
    value, index = out.flatten(1).max(1)
    _, h, w = out.shape[1:]
    return {
        "channel": (index // (h * w)).numpy(),
        "y": ((index % (h * w)) // w).numpy(),
        "x": (index % w).numpy(),
        "value": value.numpy().astype(np.float32),
        "flat_index": index.numpy(),
    }


_INVERTIBLE = {"ConvolutionBackward0", "ReluBackward0", "MaxPool2DWithIndicesBackward0"}
_IN_WORDS = {
    "AddBackward0": "a residual addition",
    "NativeBatchNormBackward0": "batch normalisation",
    "CudnnBatchNormBackward0": "batch normalisation",
    "AvgPool2DBackward0": "average pooling",
    "AdaptiveAvgPool2DBackward0": "average pooling",
    "TanhBackward0": "tanh",
    "SigmoidBackward0": "a sigmoid",
    "CatBackward0": "a concatenation",
    "MulBackward0": "a multiplication",
    "GeluBackward0": "GELU",
    "SiluBackward0": "SiLU",
    "LeakyReluBackward0": "leaky ReLU",
}


def deconv_obstacle(
    model: nn.Module, network: nn.Module, layer: str, x: Tensor, shown: str | None = None
) -> str | None:
    """Why the DeconvNet cannot project ``layer`` (None: it can): what besides convolutions,
    ReLU modules and max-pooling lies between ``network``'s input and the layer. ``model``
    wraps ``network`` (its ``PixelInput``); ``x`` is one sample or a few; ``shown``: the
    layer's name in the message (default ``layer``)."""
    inputs: list[Tensor] = []

    def as_leaf(_m: nn.Module, args: tuple) -> tuple:
        leaf = args[0].detach().requires_grad_(True)
        inputs.append(leaf)
        return (leaf, *args[1:])

    relu_calls = [0]
    counters = [
        m.register_forward_hook(lambda *_: relu_calls.__setitem__(0, relu_calls[0] + 1))
        for m in network.modules()
        if isinstance(m, nn.ReLU)
    ]
    handle = network.register_forward_pre_hook(as_leaf)
    try:
        with torch.enable_grad():
            out = up_to(model, layer, x[:2])
    finally:
        handle.remove()
        for counter in counters:
            counter.remove()
    seen, stack, others, relus = set(), [out.grad_fn], [], 0
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        name = type(node).__name__
        if name == "AccumulateGrad":
            continue
        if name == "ReluBackward0":
            relus += 1
        elif name not in _INVERTIBLE:
            others.append(_IN_WORDS.get(name, name.removesuffix("Backward0")))
        stack += [nxt for nxt, _ in node.next_functions]
    if relus > relu_calls[0]:
        others.append("a functional ReLU (torch.relu; the DeconvNet needs nn.ReLU modules)")
    if not others:
        return None
    found = ", ".join(dict.fromkeys(others))
    return (
        f"the path from the input to {shown or layer} has {found}; the DeconvNet (Zeiler & Fergus) "
        "inverts only convolutions, ReLUs and max-pooling"
    )


class _Selected(nn.Module):
    """One activation of ``layer`` per sample (``flat_index`` into its flattened maps)."""

    def __init__(self, model: nn.Module, layer: str, flat_index: Tensor) -> None:
        super().__init__()
        self.model, self.layer, self.flat_index = model, layer, flat_index

    def forward(self, x: Tensor) -> Tensor:
        out = up_to(self.model, self.layer, x)
        return out.flatten(1).gather(1, self.flat_index[: len(out), None])


def deconv_projections(
    model: nn.Module, layer: str, x: Tensor, flat_index: np.ndarray
) -> np.ndarray:
    """float32[n, h, w]: DeconvNet projection to pixel space of one activation of ``layer``
    per sample (``flat_index`` into the flattened feature maps, e.g. the strongest one).

    Zeiler & Fergus's steps, done by Captum's deconvolution rule on the backward pass: unpooling
    with the switches of the forward max-pooling, rectification (ReLU of the signal going back),
    and transposed convolution with the same filters. Check :func:`deconv_obstacle` first.
    """
    model.eval()
    out = []
    for start in range(0, len(x), _CHUNK):
        chunk = x[start : start + _CHUNK]
        index = torch.as_tensor(flat_index[start : start + _CHUNK], dtype=torch.long)
        deconv = Deconvolution(_Selected(model, layer, index))
        with warnings.catch_warnings():  # Captum notes that it hooks the ReLUs for the pass
            warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU")
            attr = deconv.attribute(chunk.clone().requires_grad_(True), target=0)
        out.append(attr.sum(1).detach().numpy())
    return np.concatenate(out).astype(np.float32)
