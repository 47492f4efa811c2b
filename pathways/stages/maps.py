"""The maps stage: a seeded 2-D map of every sample at the chosen layers, and how faithful
each map is. Deferred (:attr:`pathways.engine.steps.Stage.deferred`): nothing the report says
reads it, so a run writes the report first and the maps follow. No torch here."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pathways.analysis.embed import embed_2d, layers_to_map, method_used
from pathways.analysis.map_quality import map_quality
from pathways.engine.artifacts import Artifact
from pathways.engine.fanout import map_items
from pathways.engine.progress import Progress
from pathways.stages.reading import captured, hidden_layers
from pathways.store.reading import load_layer


def _embed_layer(
    path: Path, seed: int, neighbors: int, method: str, layer: str
) -> tuple[np.ndarray, dict[str, float]]:
    values = load_layer(path, layer).values
    xy = embed_2d(values, seed, neighbors, method)
    used = method_used(values.shape, method, neighbors)
    return xy, {"method": used, **map_quality(values, xy, seed=seed)}


def embedding_stage(
    capture: Artifact,
    *,
    embedding_method: str,
    embedding_neighbors: int,
    map_layers: str | int,
    seed: int,
    progress: Progress,
) -> dict[str, Any]:
    """A seeded 2-D map of every sample for the explorer (``embedding_method``) at the hidden
    layers ``map_layers`` chooses (:func:`pathways.analysis.embed.layers_to_map`) and at the
    logits, and how faithful each is to its layer (``map_quality``: neighbour preservation
    and trustworthiness on 1,000 checked samples)."""
    path, samples, layers = captured(capture)
    hidden = hidden_layers(layers)
    chosen = layers_to_map(hidden, len(samples), map_layers)
    mapped = [layer for layer in layers if layer in chosen or layer not in hidden]
    frames, quality = [], []
    advance = progress.task("embedding", total=len(mapped))
    job = functools.partial(_embed_layer, path, seed, embedding_neighbors, embedding_method)
    for layer, (xy, measured) in zip(mapped, map_items(job, mapped, advance), strict=True):
        frames.append(
            pd.DataFrame(
                {
                    "sample_id": samples["sample_id"].to_numpy(),
                    "layer": layer,
                    "x": xy[:, 0],
                    "y": xy[:, 1],
                }
            )
        )
        quality.append({"layer": layer, **measured})
    return {
        "embedding": pd.concat(frames, ignore_index=True),
        "map_quality": pd.DataFrame(quality),
    }
