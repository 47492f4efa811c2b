"""Reading activation tables as analysis layers.

An *analysis layer* groups the stored parts of one network layer: a dense layer is itself;
a conv layer joins its per-channel mean and max (``conv1`` = ``conv1:mean`` + ``conv1:max``, units
``mean_0 … max_5``). ``logit`` is the output layer; softmax probabilities are not a layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pathways.store.activations import SAMPLE_FIELDS, layer_matrix, layers
from pathways.store.parquet import reading


@dataclass(frozen=True)
class LayerData:
    """One analysis layer: ``values`` float32[n_samples, n_units] in sample_id order."""

    name: str
    units: list[str]
    values: np.ndarray


def layer_names(path: str | Path, include_output: bool = True) -> list[str]:
    """Analysis layers of an activation table, input side first (``logit`` last if included)."""
    names: list[str] = []
    for info in layers(path):
        base = info.name.split(":")[0]
        if info.kind == "probabilities" or (info.kind == "logits" and not include_output):
            continue
        if base not in names:
            names.append(base)
    return names


def load_layer(path: str | Path, name: str) -> LayerData:
    """The values of analysis layer ``name`` (conv parts joined: mean units, then max units)."""
    parts = [
        info
        for info in layers(path)
        if info.name.split(":")[0] == name and info.kind != "probabilities"
    ]
    if not parts:
        raise KeyError(name)
    values, units = [], []
    for info in parts:
        part = info.name.partition(":")[2]
        values.append(layer_matrix(path, info.name))
        units += [f"{part}_{int(u)}" if part else u for u in info.units]
    return LayerData(name, units, np.hstack(values) if len(values) > 1 else values[0])


def load_samples(path: str | Path) -> pd.DataFrame:
    """The sample columns of an activation table (sample_id order)."""
    with reading(path):
        return pq.read_table(path, columns=SAMPLE_FIELDS).to_pandas()
