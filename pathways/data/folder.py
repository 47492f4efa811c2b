"""A folder of images with one sub-folder per class (``cats/…png``, ``dogs/…jpg``).

The folder's name is the class's name. Its integer label is that name when every class folder
is named by a whole number (``0/``, ``7/``), and otherwise its position in the sorted names
(``cat`` 0, ``dog`` 1, …). Files are read in sorted order, class by class; PNG, JPEG and BMP
files count, other files (a ``.DS_Store``, a ``README``) are ignored. Every problem — a damaged
or truncated file, an empty class folder, sizes that differ without ``image_size`` — is one
:class:`~pathways.errors.DataError` naming the file or folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from pathways.data.digits import Digits
from pathways.data.pictures import conform, stored_channels
from pathways.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def labels_of(names: list[str]) -> dict[str, int]:
    """Class name → integer label: the number itself when every name is a whole number,
    otherwise the position in sorted order."""
    if names and all(n.isdigit() for n in names):
        return {n: int(n) for n in names}
    return {n: i for i, n in enumerate(sorted(names))}


def class_folders(root: str | Path) -> dict[str, Path]:
    """Class name → its sub-folder, sorted by name (hidden folders ignored)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"data.path: {root} is not a folder — give a folder with one sub-folder of images "
            "per class"
        )
    folders = {
        p.name: p for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")
    }
    if not folders:
        raise DataError(
            f"{root}: no class sub-folders — put each class's images in a sub-folder named "
            "after the class (e.g. {root}/cat/001.png)"
        )
    numbers = [n for n in folders if n.isdigit()]
    if len({int(n) for n in numbers}) != len(numbers):
        raise DataError(f"{root}: class folders {sorted(numbers)} name the same number twice")
    return folders


def class_labels(root: str | Path) -> dict[str, int]:
    """The classes of an image folder (name → label) without reading any image."""
    return labels_of(list(class_folders(root)))


def _files(folder: Path) -> list[Path]:
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not files:
        raise DataError(
            f"{folder}: empty class folder — no PNG, JPEG or BMP files in it; add images or "
            "remove the folder"
        )
    return files


def _open(path: Path) -> Image.Image:
    try:
        image = Image.open(path)
        image.load()  # decodes now: a truncated file fails here, not later
        return image
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(
            f"{path}: cannot read this image ({detail}) — replace or delete the file"
        ) from None


def load_image_folder(
    root: str | Path,
    *,
    image_size: tuple[int, int] | None = None,
    channels: int | None = None,
    only: set[int] | None = None,
    cache_dir: str | Path | None = None,
) -> Digits:
    """Every image of the class folders under ``root`` (``only``: the labels to read, default
    all; ``cache_dir`` is not used), as grey or RGB (``channels``; default: as stored, which must then agree) and of
    ``image_size`` (height, width; default: their own size, which must then agree)."""
    labels_by_name = class_labels(root)
    folders = class_folders(root)
    images, labels = [], []
    first: tuple[Path, tuple[int, int], int] | None = None
    for name, folder in folders.items():
        label = labels_by_name[name]
        if only is not None and label not in only:
            continue
        for path in _files(folder):
            image = _open(path)
            stored = stored_channels(image)
            if first is None:
                first = (path, (image.height, image.width), stored)
            if channels is None and stored != first[2]:
                raise DataError(
                    f"{path}: stored in {'grey' if stored == 1 else 'colour'}, but {first[0]} in "
                    f"{'grey' if first[2] == 1 else 'colour'} — set data.channels = 1 or 3"
                )
            if image_size is None and (image.height, image.width) != first[1]:
                h, w = first[1]
                raise DataError(
                    f"{path}: {image.height}×{image.width} pixels, but {first[0]} is {h}×{w} — "
                    f"set data.image_size = [{h}, {w}] to resize them all"
                )
            images.append(conform(image, channels or first[2], image_size))
            labels.append(label)
    if not images:
        raise DataError(f"{root}: none of the named classes has images")
    return Digits(
        images=np.stack(images),
        labels=np.asarray(labels, dtype=np.int64),
        name=f"folder:{Path(root).name}",
        names={label: name for name, label in labels_by_name.items()},
    )
