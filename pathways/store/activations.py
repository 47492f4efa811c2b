"""The Parquet form of captured activations: one row per sample.

Schema (see README "Parquet schema"): sample columns ``sample_id, source_index, label,
class_name, split, seen, predicted_class, confidence``, then activations. With the default ``wide`` layout each
unit is a float32 column named ``{layer}__{unit}`` (``fc1__007``, ``conv1_mean__3``, and for the
outputs ``logit__7``, ``prob__7`` named by class); with the ``list`` layout each layer is one
``fixed_size_list<float32>`` column. The schema's key-value metadata ``pathways`` (JSON) lists
the layers with their columns and unit counts, and ``pathways.provenance`` the config, stage
versions and library versions.

Example
-------
>>> import pandas as pd                                                # doctest: +SKIP
>>> df = pd.read_parquet("data/store/default/capture/mlp/activations.parquet")  # doctest: +SKIP
>>> df.groupby("label")["fc3__12"].mean()                            # doctest: +SKIP
>>> layer_matrix("data/store/default/capture/mlp/activations.parquet", "fc1").shape  # doctest: +SKIP
(1500, 256)

A layer's wide columns are named ``LAYER__UNIT``, units zero-padded so they sort in order:

>>> layer_columns("relu#1", "dense", unit_names(12), "wide").columns[:2]
['relu_1__00', 'relu_1__01']
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pathways.errors import StoreError
from pathways.store.parquet import reading

Layout = Literal["wide", "list"]
META_KEY = b"pathways"
PROVENANCE_KEY = b"pathways.provenance"
SAMPLE_FIELDS = [
    "sample_id",
    "source_index",
    "label",
    "class_name",
    "split",
    "seen",
    "predicted_class",
    "confidence",
]


@dataclass(frozen=True)
class LayerColumns:
    """Where one layer's units live in an activation table."""

    name: str
    kind: str
    """"dense", "channel_mean", "channel_max", "logits" or "probabilities"."""
    units: list[str]
    columns: list[str]
    """The wide columns, in unit order; with the list layout, the one list column."""


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def layer_columns(name: str, kind: str, units: list[str], layout: Layout) -> LayerColumns:
    if layout == "list":
        return LayerColumns(name, kind, units, [_safe(name)])
    return LayerColumns(name, kind, units, [f"{_safe(name)}__{u}" for u in units])


def unit_names(n_units: int) -> list[str]:
    """Zero-padded unit numbers, so that wide columns sort in unit order."""
    width = len(str(max(n_units - 1, 0)))
    return [f"{i:0{width}d}" for i in range(n_units)]


def activation_table(
    samples: pd.DataFrame,
    layers: dict[str, tuple[str, np.ndarray]],
    outputs: dict[str, tuple[str, list[str], np.ndarray]],
    layout: Layout = "wide",
) -> pa.Table:
    """Build the one-row-per-sample activation table.

    Parameters
    ----------
    samples : the sample columns (``SAMPLE_FIELDS``), one row per sample in capture order
    layers : layer name → (kind, float32[n_samples, n_units])
    outputs : name → (kind, unit names, float32[n_samples, n]) for logits and probabilities,
        whose units are named by class
    layout : "wide" (a column per unit) or "list" (a fixed-size list column per layer)
    """
    columns: dict[str, pa.Array] = {
        name: pa.Array.from_pandas(samples[name]) for name in SAMPLE_FIELDS
    }
    described: list[LayerColumns] = []
    entries = [(n, k, unit_names(a.shape[1]), a) for n, (k, a) in layers.items()]
    entries += [(n, k, u, a) for n, (k, u, a) in outputs.items()]
    for name, kind, units, values in entries:
        values = np.ascontiguousarray(values, dtype=np.float32).reshape(len(values), -1)
        if len(values) != len(samples):
            raise StoreError(f"layer {name}: {len(values)} rows for {len(samples)} samples")
        info = layer_columns(name, kind, units, layout)
        described.append(info)
        if layout == "list":
            flat = pa.array(values.reshape(-1), type=pa.float32())
            columns[info.columns[0]] = pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
        else:
            columns.update({col: pa.array(values[:, i]) for i, col in enumerate(info.columns)})
    table = pa.table(columns)
    meta = {"format": 1, "layout": layout, "layers": [asdict(d) for d in described]}
    return table.replace_schema_metadata(
        {**(table.schema.metadata or {}), META_KEY: json.dumps(meta)}
    )


def feature_map_table(sample_ids: np.ndarray, maps: dict[str, np.ndarray]) -> pa.Table:
    """Full conv feature maps: ``sample_id`` plus one fixed-size list column per layer.

    Each list holds float32[channels · height · width] in C order; the shape is in the metadata.
    """
    columns = {"sample_id": pa.array(sample_ids, type=pa.int64())}
    shapes = {}
    for name, values in maps.items():
        flat = np.ascontiguousarray(values, dtype=np.float32).reshape(len(values), -1)
        columns[_safe(name)] = pa.FixedSizeListArray.from_arrays(
            pa.array(flat.reshape(-1)), flat.shape[1]
        )
        shapes[_safe(name)] = list(values.shape[1:])
    table = pa.table(columns)
    meta = {"format": 1, "feature_map_shapes": shapes}
    return table.replace_schema_metadata({META_KEY: json.dumps(meta)})


def table_metadata(source: str | Path | pa.Schema) -> dict:
    """The ``pathways`` metadata of an activation table (layers, layout)."""
    with reading(source if not isinstance(source, pa.Schema) else "an activation table"):
        schema = source if isinstance(source, pa.Schema) else pq.read_schema(source)
        raw = (schema.metadata or {}).get(META_KEY)
        if raw is None:
            raise StoreError(
                f"{source}: no pathways metadata — not an activation table written by pathways"
            )
        meta = json.loads(raw)
        if meta.get("layout") not in ("wide", "list") or not isinstance(meta.get("layers"), list):
            raise ValueError("its pathways metadata lacks the layout or the layers")
        for entry in meta["layers"]:
            try:
                LayerColumns(**entry)
            except TypeError:
                raise ValueError("its pathways metadata has a damaged layer entry") from None
        return meta


def provenance(source: str | Path) -> dict:
    """The provenance (config, stage versions, library versions) stored in a Parquet file."""
    with reading(source):
        raw = (pq.read_schema(source).metadata or {}).get(PROVENANCE_KEY)
        return json.loads(raw) if raw else {}


def layers(source: str | Path) -> list[LayerColumns]:
    """The layers an activation table holds, in order."""
    return [LayerColumns(**d) for d in table_metadata(source)["layers"]]


def all_finite(values: np.ndarray) -> bool:
    """No NaN or infinite value in ``values`` (two reductions: min and max carry NaN and ±inf
    through, so no boolean array of its size is made)."""
    return not values.size or bool(np.isfinite(values.min()) and np.isfinite(values.max()))


def layer_matrix(source: str | Path, layer: str) -> np.ndarray:
    """float32[n_samples, n_units]: one layer's activations, read without loading the rest."""
    meta = table_metadata(source)
    found = [LayerColumns(**d) for d in meta["layers"] if d["name"] == layer]
    if not found:
        known = ", ".join(d["name"] for d in meta["layers"])
        raise StoreError(f"layer {layer!r} is not in {source} — choose from: {known}")
    info = found[0]
    with reading(source):
        table = pq.read_table(source, columns=info.columns)
        if meta["layout"] == "list":
            column = table.column(0).combine_chunks()
            values = column.flatten().to_numpy().reshape(len(column), -1)
        else:
            values = np.column_stack([table.column(c).to_numpy() for c in info.columns])
        values = values.astype(np.float32, copy=False)
    if not all_finite(values):
        raise StoreError(
            f"{source}: layer {layer} holds NaN or infinite values — the analysis cannot use "
            "them; capture the model again (`pathways run --only capture/MODEL --force`)"
        )
    return values
