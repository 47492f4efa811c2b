"""Digit-subset experiments: which samples are in, their split, and how their images are stored.

The samples table (``data/samples.parquet``) has one row per sample (:data:`SAMPLE_COLUMNS`) and
its image as a fixed-size list of uint8 pixels (row-major, channels last). The schema metadata
``pathways.images`` says the images' shape and the per-channel normalisation models get
(:class:`ImageFormat`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pathways.data.digits import Digits
from pathways.errors import DataError
from pathways.store.parquet import reading

SAMPLE_COLUMNS = ["sample_id", "source_index", "label", "class_name", "split", "seen"]
IMAGES_KEY = b"pathways.images"


@dataclass(frozen=True)
class ImageFormat:
    """The stored images' shape — (height, width) grey or (height, width, 3) RGB — and the
    per-channel mean and std (of pixels scaled to [0, 1]) subtracted and divided before a model
    sees them (None: the model gets the [0, 1] pixels)."""

    shape: tuple[int, ...]
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    @property
    def channels(self) -> int:
        return 1 if len(self.shape) == 2 else self.shape[2]

    @property
    def size(self) -> tuple[int, int]:
        return (self.shape[0], self.shape[1])

    def describe(self) -> str:
        """``28×28 grey`` or ``32×32 RGB``."""
        h, w = self.size
        return f"{h}×{w} {'grey' if self.channels == 1 else 'RGB'}"

    def to_json(self) -> dict:
        return {"shape": list(self.shape), "mean": self.mean, "std": self.std}

    @classmethod
    def from_json(cls, raw: dict) -> ImageFormat:
        mean, std = raw.get("mean"), raw.get("std")
        return cls(
            tuple(int(v) for v in raw["shape"]),
            None if mean is None else tuple(float(v) for v in mean),
            None if std is None else tuple(float(v) for v in std),
        )


def normalisation(
    images: np.ndarray, how: str, mean: list[float] | None, std: list[float] | None
) -> tuple[tuple[float, ...] | None, tuple[float, ...] | None]:
    """The (mean, std) per channel models get their input normalised with: ``mean``/``std`` as
    given, computed from ``images`` (the trained classes' train split) for ``how = "trained"``,
    or none."""
    channels = 1 if images.ndim == 3 else images.shape[-1]
    if mean is not None and std is not None:
        if len(mean) != channels or len(std) != channels:
            raise DataError(
                f"data.mean and data.std: {len(mean)} and {len(std)} values for images with "
                f"{channels} channel(s) — give one value per channel"
            )
        return tuple(mean), tuple(std)
    if how != "trained":
        return None, None
    pixels = images.reshape(len(images), -1, channels).astype(np.float64) / 255.0
    m = pixels.mean(axis=(0, 1))
    s = pixels.std(axis=(0, 1))
    return tuple(float(v) for v in m), tuple(float(max(v, 1e-6)) for v in s)


def _check_classes(digits: Digits, field: str, classes: list[int]) -> None:
    present = set(digits.classes)
    missing = [c for c in classes if c not in present]
    if missing:
        if digits.names:
            known = ", ".join(digits.class_name(c) for c in sorted(present))
            raise DataError(
                f"{field}: class {missing[0]} has no images in {digits.name} — choose among {known}"
            )
        lo, hi = min(present), max(present)
        raise DataError(
            f"{field}: class {missing[0]} is not in the data set {digits.name} (its labels are "
            f"{lo}–{hi}) — choose classes from {lo}–{hi}"
        )


def select_samples(
    digits: Digits,
    trained_classes: list[int],
    unseen_classes: list[int],
    *,
    test_fraction: float = 0.2,
    split_seed: int = 0,
    samples_per_class: int | None = None,
) -> pd.DataFrame:
    """Pick the samples of an experiment and give each a stratified train/test split.

    Unseen classes are split too, so that analyses can fit on unseen *train* samples if they
    must and report on *test* samples only.

    Returns
    -------
    DataFrame with columns ``sample_id`` (0..n-1, the row order of every later output),
    ``source_index`` (position in the source data set), ``label``, ``class_name`` (the
    source's name of the class: a folder's name, or the label's number), ``split``
    ("train"/"test") and ``seen`` (True for trained classes), ordered by source index.
    """
    _check_classes(digits, "trained_classes", trained_classes)
    _check_classes(digits, "unseen_classes", unseen_classes)
    wanted = np.isin(digits.labels, trained_classes + unseen_classes)
    index = np.flatnonzero(wanted)
    if samples_per_class is not None:
        labels = digits.labels[index]
        keep = np.zeros(len(index), dtype=bool)
        for cls in np.unique(labels):
            keep[np.flatnonzero(labels == cls)[:samples_per_class]] = True
        index = index[keep]
    labels = digits.labels[index]
    counts = {
        digits.class_name(c): int((labels == c).sum()) for c in trained_classes + unseen_classes
    }
    if len(index) == 0 or min(counts.values()) < 2:
        raise DataError(
            f"the subset is empty or too small after filtering (samples per class: {counts}) — "
            "each class needs at least 2 samples; raise data.samples_per_class or pick other classes"
        )
    split = _stratified_split(labels, test_fraction, np.random.default_rng(split_seed))
    return pd.DataFrame(
        {
            "sample_id": np.arange(len(index), dtype=np.int64),
            "source_index": index.astype(np.int64),
            "label": labels.astype(np.int64),
            "class_name": [digits.class_name(c) for c in labels],
            "split": pd.Categorical(np.where(split, "test", "train"), categories=["train", "test"]),
            "seen": np.isin(labels, trained_classes),
        }
    )


def _stratified_split(
    labels: np.ndarray, test_fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """bool[n]: True for test. Each class gets round(test_fraction · count) test samples (≥ 1)."""
    is_test = np.zeros(len(labels), dtype=bool)
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        n_test = min(max(1, round(test_fraction * len(members))), len(members) - 1)
        is_test[rng.choice(members, size=n_test, replace=False)] = True
    return is_test


def read_image_format(path: str | Path) -> ImageFormat:
    """The image shape and normalisation of a samples table (from its metadata; a table without
    them holds square grey images)."""
    with reading(path, "run the data step again: `pathways run --only data --force`"):
        schema = pq.read_schema(path)
        raw = (schema.metadata or {}).get(IMAGES_KEY)
        if raw is not None:
            return ImageFormat.from_json(json.loads(raw))
        if "image" not in schema.names:
            raise ValueError("it has no image column")
        kind = schema.field("image").type
        size = kind.list_size if pa.types.is_fixed_size_list(kind) else -1
        side = int(round(np.sqrt(max(size, 0))))
        if size <= 0 or side * side != size:
            raise ValueError(f"image column of {size} pixels is not a square image")
        return ImageFormat((side, side))


def read_samples(path: str | Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The samples table at ``path`` without its images, and the images as uint8[n, h, w] (grey)
    or uint8[n, h, w, 3] (RGB), read straight from Parquet (no per-image Python objects:
    70,000 digits take 55 MB)."""
    shape = read_image_format(path).shape
    with reading(path, "run the data step again: `pathways run --only data --force`"):
        source = pq.ParquetFile(path)
        if "image" not in source.schema_arrow.names:
            raise ValueError("it has no image column")
        kind = source.schema_arrow.field("image").type
        if not pa.types.is_fixed_size_list(kind) or not pa.types.is_uint8(kind.value_type):
            raise ValueError(f"its image column is {kind}, not fixed-size lists of uint8")
        if kind.list_size != int(np.prod(shape)):
            raise ValueError(f"image column of {kind.list_size} pixels is not {shape}")
        n = source.metadata.num_rows
        images = np.empty((n, *shape), dtype=np.uint8)
        start = 0
        # In batches: decoding the whole nested column at once takes ~15× its size in memory.
        for batch in source.iter_batches(batch_size=8192, columns=["image"]):
            flat = batch.column(0).flatten().to_numpy(zero_copy_only=False)
            images[start : start + batch.num_rows] = flat.reshape(-1, *shape)
            start += batch.num_rows
        if start != n:
            raise ValueError(f"{start} images where the footer declares {n} rows")
        others = [name for name in source.schema_arrow.names if name != "image"]
        samples = pq.read_table(path, columns=others).to_pandas()
        missing = [c for c in SAMPLE_COLUMNS if c not in samples.columns]
        if missing or len(samples) != n:
            raise ValueError(f"no column {missing[0]!r}" if missing else "rows differ")
        return samples, images
