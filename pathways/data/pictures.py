"""One image brought to the form an experiment asks for: its colour (grey or RGB) and size.

Used by every source that reads images of its own (an image folder, an ``.npz``): grey is
Pillow's ``L`` (ITU-R 601 luma: 0.299 R + 0.587 G + 0.114 B), RGB drops any alpha channel,
and a resize is bilinear (with antialiasing when shrinking).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from pathways.data.digits import Digits

GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
"""Pillow modes of images stored without colour."""


def stored_channels(image: Image.Image) -> int:
    """1 for an image stored in grey (any bit depth), 3 for colour (RGB, RGBA, palette, CMYK …)."""
    return 1 if image.mode in GREY_MODES else 3


def conform(image: Image.Image, channels: int, size: tuple[int, int] | None) -> np.ndarray:
    """uint8[h, w] (``channels`` 1) or uint8[h, w, 3] (3); ``size`` is (height, width) or None
    for the image's own size."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = values.max() if values.size and values.max() > 255 else 255
        image = Image.fromarray(np.clip(values * (255 / top), 0, 255).astype(np.uint8))
    converted = image.convert("L" if channels == 1 else "RGB")
    if size is not None and (converted.height, converted.width) != tuple(size):
        converted = converted.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(converted, dtype=np.uint8)


def conformed(
    digits: Digits,
    *,
    image_size: tuple[int, int] | None = None,
    channels: int | None = None,
    only: set[int] | None = None,
) -> Digits:
    """``digits`` limited to the labels in ``only`` (default all), each image brought to
    ``channels`` (default as stored) and ``image_size`` (default its own) by :func:`conform`;
    unchanged images are not copied."""
    images, labels = digits.images, digits.labels
    if only is not None:
        keep = np.isin(labels, sorted(only))
        images, labels = images[keep], labels[keep]
    stored = 1 if images.ndim == 3 else 3
    if len(images) and ((channels or stored) != stored or image_size is not None):
        images = np.stack(
            [conform(Image.fromarray(im), channels or stored, image_size) for im in images]
        )
    return Digits(images=images, labels=labels, name=digits.name, names=digits.names)
