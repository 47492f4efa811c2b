"""From stored pixels to what a network takes, in one place (torch).

Stored images are uint8 (:class:`~pathways.data.subsets.ImageFormat`). Every network sees them
scaled to [0, 1], normalised per channel when the experiment asks, then in its model type's
*input form*: ``flat`` (one vector per image, for MLPs), ``image`` (channels × height × width),
``image28`` (1×28×28) or ``image32`` (1×32×32: a 28×28 digit zero-padded by 2 pixels, as
LeNet-5 expects).

:class:`PixelInput` wraps a network so that it takes [0, 1] pixels (n × channels × h × w):
the explanations perturb and attribute in that space, so a black occlusion patch is black and
every map has the stored image's size, whatever the network's own input form.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor, nn

from pathways.data.subsets import ImageFormat

INPUT_FORMS = ("flat", "image", "image28", "image32")


def pixels(images: np.ndarray) -> Tensor:
    """uint8[n, h, w] or uint8[n, h, w, c] → float32[n, c, h, w] in [0, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32) / 255.0
    return x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2).contiguous()


def to_model(x: Tensor, form: str, image: ImageFormat) -> Tensor:
    """[0, 1] pixels (n × c × h × w) → the network's input: normalised, then in ``form``."""
    if image.mean is not None and image.std is not None:
        mean = torch.tensor(image.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(image.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        x = (x - mean) / std
    if form == "flat":
        return x.flatten(1)
    if form in ("image", "image28"):
        return x
    if form == "image32":
        return nn.functional.pad(x, (2, 2, 2, 2))
    raise ValueError(f"unknown input form {form!r} — use one of {', '.join(INPUT_FORMS)}")


def model_inputs(images: np.ndarray, form: str, image: ImageFormat) -> Tensor:
    """uint8 images → the float32 tensor a network of input form ``form`` takes."""
    return to_model(pixels(images), form, image)


class PixelInput(nn.Module):
    """``network`` taking [0, 1] pixels (n × c × h × w) instead of its own input form. Its
    layers keep their names under ``network.`` (``network.conv1``)."""

    def __init__(self, network: nn.Module, form: str, image: ImageFormat) -> None:
        super().__init__()
        self.network = network
        self.form = form
        self.image = image

    def forward(self, x: Tensor) -> Tensor:
        return self.network(to_model(x, self.form, self.image))


def input_batches(
    images: np.ndarray, input_kind: str, image: ImageFormat, batch_size: int, device: torch.device
) -> Iterator[torch.Tensor]:
    """The model inputs of ``images``, ``batch_size`` at a time, on ``device``."""
    for start in range(0, len(images), batch_size):
        yield model_inputs(images[start : start + batch_size], input_kind, image).to(device)
