"""A labelled image set in one NumPy ``.npz`` file.

The file holds ``images`` — [n, height, width] (grey) or [n, height, width, channels] with 1 or
3 channels — and ``labels`` [n], whole numbers or strings (class names; their labels are then
their positions in sorted order). An optional ``class_names`` [k] names integer labels 0 … k-1.
``uint8`` images are taken as they are; other numbers must be ≥ 0 and are scaled so that the
largest value of the array becomes 255 (scikit-learn's 8×8 digits, 0–16, become 0–255).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from pathways.data.digits import Digits
from pathways.data.pictures import conformed
from pathways.errors import DataError


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DataError(f"data.path: {path} is not a file — give the path of an .npz file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            found = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(
            f"{path}: not a readable .npz file ({detail}) — write it with numpy.savez"
        ) from None
    for key in ("images", "labels"):
        if key not in found:
            raise DataError(
                f"{path}: no array {key!r} (it holds {', '.join(found) or 'nothing'}) — save "
                "images [n, h, w] or [n, h, w, c] and labels [n]"
            )
    return found


def _names_and_labels(
    path: Path, found: dict[str, np.ndarray]
) -> tuple[np.ndarray, dict[int, str]]:
    raw = found["labels"]
    if raw.ndim != 1:
        raise DataError(f"{path}: labels has shape {raw.shape} — save one label per image, [n]")
    if raw.dtype.kind in "US":
        names = sorted({str(v) for v in raw})
        index = {n: i for i, n in enumerate(names)}
        return np.array([index[str(v)] for v in raw], dtype=np.int64), dict(enumerate(names))
    if raw.dtype.kind not in "iu" or (raw.size and raw.min() < 0):
        raise DataError(
            f"{path}: labels are {raw.dtype} — save whole numbers ≥ 0 or class-name strings"
        )
    labels = raw.astype(np.int64)
    names: dict[int, str] = {}
    if "class_names" in found:
        given = [str(v) for v in found["class_names"].reshape(-1)]
        if labels.size and labels.max() >= len(given):
            raise DataError(
                f"{path}: class_names names {len(given)} classes but a label is {labels.max()}"
            )
        names = dict(enumerate(given))
    return labels, names


def class_labels(path: str | Path) -> dict[str, int]:
    """The classes of an .npz (name → label), reading its labels only."""
    labels, names = _names_and_labels(Path(path), _read(Path(path)))
    return {names.get(int(c), str(int(c))): int(c) for c in np.unique(labels)}


def _pixels(path: Path, images: np.ndarray) -> np.ndarray:
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3):
        raise DataError(
            f"{path}: images has shape {images.shape} — save [n, h, w] (grey) or [n, h, w, 3]"
        )
    if images.dtype == np.uint8:
        return images
    if images.dtype.kind not in "iuf":
        raise DataError(f"{path}: images are {images.dtype} — save numbers (uint8 0–255 best)")
    values = images.astype(np.float64)
    if not np.isfinite(values).all() or (values.size and values.min() < 0):
        raise DataError(f"{path}: images hold negative, NaN or infinite values — save 0–255 uint8")
    top = values.max() if values.size and values.max() > 0 else 1.0
    return np.rint(values * (255.0 / top)).astype(np.uint8)


def load_npz(
    path: str | Path,
    *,
    image_size: tuple[int, int] | None = None,
    channels: int | None = None,
    only: set[int] | None = None,
    cache_dir: str | Path | None = None,
) -> Digits:
    """The images and labels of an .npz (``only``: keep these labels; ``cache_dir`` is not used), as grey or RGB
    (``channels``, default as stored) and of ``image_size`` (default their own)."""
    path = Path(path)
    found = _read(path)
    labels, names = _names_and_labels(path, found)
    images = _pixels(path, found["images"])
    if len(images) != len(labels):
        raise DataError(
            f"{path}: {len(images)} images but {len(labels)} labels — save one label per image"
        )
    digits = Digits(images=images, labels=labels, name=f"npz:{path.name}", names=names)
    return conformed(digits, image_size=image_size, channels=channels, only=only)
