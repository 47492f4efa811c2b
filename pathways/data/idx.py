"""Reading and writing MNIST-format IDX files (raw or gzip-compressed).

The IDX header is two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions,
then one big-endian uint32 per dimension; the data follow in C order. MNIST and Fashion-MNIST
(as installed by Debian's ``dataset-fashion-mnist`` under /usr/share/datasets/fashion-mnist)
use type 0x08 with 3 dimensions for images and 1 for labels.

Example
-------
>>> from pathways.data.idx import load_idx_folder
>>> digits = load_idx_folder("/usr/share/datasets/fashion-mnist")  # doctest: +SKIP
>>> digits.images.shape  # doctest: +SKIP
(70000, 28, 28)
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from pathways.data.digits import Digits
from pathways.errors import DataError

_UBYTE = 0x08
# (images, labels) file stems, in the order their samples are concatenated.
PARTS = (
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
)


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
            fh.seek(0)
            if head == b"\x1f\x8b":
                with gzip.open(fh) as gz:
                    return gz.read()
            return fh.read()
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise DataError(f"{path}: cannot read ({exc}) — replace it with an intact copy") from None


def read_idx(path: str | Path, ndim: int | None = None) -> np.ndarray:
    """Read one IDX file of unsigned bytes into a uint8 array.

    Parameters
    ----------
    path : path of a ``*-idx?-ubyte`` file, gzip-compressed or raw.
    ndim : the number of dimensions it must have (3 for images, 1 for labels), or None.

    Raises
    ------
    DataError
        Bad magic number, wrong type or dimension count, or a size that does not match the header.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(
            f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'}) — "
            "give MNIST-format *-idx?-ubyte files"
        )
    dtype_code, n_dims = raw[2], raw[3]
    if dtype_code != _UBYTE:
        raise DataError(
            f"{path}: IDX type 0x{dtype_code:02x} is not supported — only unsigned-byte (0x08) "
            "files, as MNIST ships them"
        )
    if ndim is not None and n_dims != ndim:
        raise DataError(
            f"{path}: has {n_dims} dimensions where {ndim} are expected — check that image and "
            "label files are not swapped"
        )
    header = 4 + 4 * n_dims
    if len(raw) < header:
        raise DataError(f"{path}: truncated header — replace it with an intact copy")
    shape = struct.unpack(f">{n_dims}I", raw[4:header])
    expected = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: header declares shape {tuple(shape)} ({expected} bytes) but holds "
            f"{len(raw) - header} bytes — the file is truncated or corrupt, replace it"
        )
    if n_dims == 3 and (shape[1] == 0 or shape[2] == 0):
        raise DataError(f"{path}: images of size {shape[1]}×{shape[2]} — the file is corrupt")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write a uint8 array as an IDX file (gzip when ``compress`` or when the name ends in .gz)."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, _UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.tobytes()
    if compress is None:
        compress = path.suffix == ".gz"
    opener = gzip.open if compress else open
    with opener(path, "wb") as fh:
        fh.write(payload)
    return path


def _find(folder: Path, stem: str) -> Path | None:
    for name in (
        stem + ".gz",
        stem,
        stem.replace("-idx", ".idx") + ".gz",
        stem.replace("-idx", ".idx"),
    ):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def load_idx_folder(folder: str | Path, name: str | None = None) -> Digits:
    """Load the train and t10k parts of an MNIST-format folder, train first.

    A folder holding only one part (train or t10k) is accepted. ``source_index`` of a sample is
    its position in this concatenation.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(
            f"{folder}: no such folder — put MNIST-format IDX files there (e.g. "
            "train-images-idx3-ubyte.gz) or set data.path in the experiment"
        )
    images, labels = [], []
    for image_stem, label_stem in PARTS:
        image_path, label_path = _find(folder, image_stem), _find(folder, label_stem)
        if image_path is None and label_path is None:
            continue
        if image_path is None or label_path is None:
            missing = image_stem if image_path is None else label_stem
            raise DataError(
                f"{folder}: {missing}[.gz] is missing — each images file needs its labels file"
            )
        part_images, part_labels = read_idx(image_path, ndim=3), read_idx(label_path, ndim=1)
        if len(part_images) != len(part_labels):
            raise DataError(
                f"{image_path.name} holds {len(part_images)} images but {label_path.name} "
                f"{len(part_labels)} labels — the two files must come from the same data set"
            )
        images.append(part_images)
        labels.append(part_labels)
    if not images:
        raise DataError(
            f"{folder}: no IDX files found (expected train-images-idx3-ubyte[.gz] and "
            "train-labels-idx1-ubyte[.gz], or the t10k pair)"
        )
    if len({im.shape[1:] for im in images}) > 1:
        raise DataError(
            f"{folder}: train and t10k images differ in size — the folder mixes data sets"
        )
    return Digits(
        images=np.concatenate(images),
        labels=np.concatenate(labels).astype(np.int64),
        name=name or f"idx:{folder}",
    )
