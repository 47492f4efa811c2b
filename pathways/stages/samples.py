"""The ``data`` stage: the experiment's samples from its data source, chosen and split
(one Parquet file with the images; the explorer and every later stage read it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from pathways.data.sources import load_source
from pathways.data.subsets import (
    IMAGES_KEY,
    ImageFormat,
    normalisation,
    select_samples,
)
from pathways.engine.progress import Progress


def data_stage(
    *,
    source: str,
    trained_classes: list[int],
    unseen_classes: list[int],
    samples_per_class: int | None,
    test_fraction: float,
    split_seed: int,
    image_size: list[int] | None,
    channels: int | None,
    normalize: str,
    mean: list[float] | None,
    std: list[float] | None,
    cache_dir: str,
    data_location: str,
    progress: Progress,
) -> dict[str, Any]:
    """Select the experiment's samples and split them; outputs ``samples`` (with images, their
    shape and the normalisation models get, see :class:`~pathways.data.subsets.ImageFormat`).
    ``data_location``: the resolved folder or file the source reads ("" for none)."""
    digits = load_source(
        source,
        Path(data_location) if data_location else None,
        cache_dir,
        image_size=tuple(image_size) if image_size else None,
        channels=channels,
        only=set(trained_classes) | set(unseen_classes),
    )
    samples = select_samples(
        digits,
        trained_classes,
        unseen_classes,
        test_fraction=test_fraction,
        split_seed=split_seed,
        samples_per_class=samples_per_class,
    )
    images = digits.images[samples["source_index"].to_numpy()]
    fit = samples["seen"].to_numpy() & (samples["split"].astype(str).to_numpy() == "train")
    image = ImageFormat(images.shape[1:], *normalisation(images[fit], normalize, mean, std))
    table = pa.Table.from_pandas(samples, preserve_index=False)
    flat = pa.array(images.reshape(-1), type=pa.uint8())
    table = table.append_column("image", pa.FixedSizeListArray.from_arrays(flat, images[0].size))
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), IMAGES_KEY: json.dumps(image.to_json())}
    )
    progress.log(
        f"{len(samples)} samples ({image.describe()}) from {digits.name} "
        f"({int(samples['seen'].sum())} of trained classes, {int((~samples['seen']).sum())} unseen)"
    )
    return {"samples": table}
