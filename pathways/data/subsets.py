"""Digit-subset experiments: which samples are in, their split, and the tensors models get."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pathways.data.digits import Digits
from pathways.errors import DataError
from pathways.parquet_io import reading

SAMPLE_COLUMNS = ["sample_id", "source_index", "label", "split", "seen"]


def _check_classes(digits: Digits, field: str, classes: list[int]) -> None:
    present = set(digits.classes)
    missing = [c for c in classes if c not in present]
    if missing:
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
    ``source_index`` (position in the source data set), ``label``, ``split`` ("train"/"test")
    and ``seen`` (True for trained classes), ordered by source index.
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
    counts = {int(c): int((labels == c).sum()) for c in trained_classes + unseen_classes}
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


def read_samples(path: str | Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The samples table at ``path`` without its images, and the images as uint8[n, side, side],
    read straight from Parquet (no per-image Python objects: 70,000 digits take 55 MB)."""
    with reading(path, "run the data step again: `pathways run --only data --force`"):
        source = pq.ParquetFile(path)
        if "image" not in source.schema_arrow.names:
            raise ValueError("it has no image column")
        kind = source.schema_arrow.field("image").type
        if not pa.types.is_fixed_size_list(kind) or not pa.types.is_uint8(kind.value_type):
            raise ValueError(f"its image column is {kind}, not fixed-size lists of uint8")
        size = kind.list_size
        side = int(round(np.sqrt(size)))
        if size <= 0 or side * side != size:
            raise ValueError(f"image column of {size} pixels is not a square image")
        n = source.metadata.num_rows
        images = np.empty((n, side, side), dtype=np.uint8)
        start = 0
        # In batches: decoding the whole nested column at once takes ~15× its size in memory.
        for batch in source.iter_batches(batch_size=8192, columns=["image"]):
            flat = batch.column(0).flatten().to_numpy(zero_copy_only=False)
            images[start : start + batch.num_rows] = flat.reshape(-1, side, side)
            start += batch.num_rows
        if start != n:
            raise ValueError(f"{start} images where the footer declares {n} rows")
        others = [name for name in source.schema_arrow.names if name != "image"]
        samples = pq.read_table(path, columns=others).to_pandas()
        missing = [c for c in SAMPLE_COLUMNS if c not in samples.columns]
        if missing or len(samples) != n:
            raise ValueError(f"no column {missing[0]!r}" if missing else "rows differ")
        return samples, images


def model_inputs(images: np.ndarray, input_kind: str) -> np.ndarray:
    """Scale uint8 images to [0, 1] float32 in the shape a model expects.

    ``input_kind`` is ``"flat"`` (float32[n, 784], for MLPs) or ``"image32"``
    (float32[n, 1, 32, 32]: 28×28 zero-padded by 2 pixels on each side, as LeNet-5 expects).
    """
    scaled = images.astype(np.float32) / np.float32(255.0)
    if input_kind == "flat":
        return scaled.reshape(len(images), -1)
    if input_kind == "image32":
        return np.pad(scaled, ((0, 0), (2, 2), (2, 2)))[:, None, :, :]
    if input_kind == "image28":
        return scaled[:, None, :, :]
    raise ValueError(f"unknown input kind {input_kind!r}")
