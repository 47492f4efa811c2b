"""The ``dataset`` stage: a model's activations partitioned by layer and class
(:mod:`pathways.store.partitioned`), for DuckDB and Dask."""

from __future__ import annotations

from typing import Any

from pathways.engine.artifacts import Artifact, Partitioned
from pathways.engine.progress import Progress
from pathways.store.partitioned import partitions
from pathways.store.reading import layer_names


def dataset_stage(capture: Artifact, *, model: str, progress: Progress) -> dict[str, Any]:
    """The activations of model ``model``, one Parquet file per (layer, class)."""
    path = capture.path("activations")
    advance = progress.task(f"dataset {model}", total=len(layer_names(path)))
    return {"activations": Partitioned(partitions(path, model, lambda: advance(1)))}
