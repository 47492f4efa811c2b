"""The partitioned view of a run: activations by model, layer and class, for DuckDB and Dask.

``dataset/M`` rewrites ``capture/M/activations.parquet`` (one wide file, a column per unit) as
``dataset/M/activations/model=M/layer=L/label=C/part-0.parquet``: one file per (layer, class),
with the sample columns and the layer's values as one fixed-size list column ``values``
(float32, the layer's units in order; their names are in the file's metadata). Every file has
the same schema, so a query over many layers, classes or models reads only the files its
filters select::

    SELECT label, avg(values[1]) FROM read_parquet(
        'data/store/default/dataset/*/activations/*/*/*/*.parquet', hive_partitioning = true)
    WHERE model = 'mlp' AND layer = 'fc1' GROUP BY label
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pathways.store.activations import META_KEY
from pathways.store.reading import layer_names, load_layer

SAMPLE_COLUMNS = ["sample_id", "split", "seen", "predicted_class", "confidence"]


def partitions(
    path: str | Path, model: str, layer_done: Callable[[], None] = lambda: None
) -> Iterator[tuple[dict[str, Any], pa.Table]]:
    """The (partition values, table) of each (layer, class) of the activations file ``path``
    of model ``model``, one layer in memory at a time; ``layer_done`` is called after each."""
    samples = pq.read_table(path, columns=[*SAMPLE_COLUMNS, "label"])
    labels = samples.column("label").to_numpy()
    classes = np.unique(labels)
    for name in layer_names(path):
        layer = load_layer(path, name)
        meta = {META_KEY: json.dumps({"layer": name, "units": layer.units})}
        for cls in classes:
            rows = np.flatnonzero(labels == cls)
            values = np.ascontiguousarray(layer.values[rows], dtype=np.float32)
            table = samples.drop_columns(["label"]).take(rows)
            table = table.append_column(
                "values",
                pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1]),
            )
            yield (
                {"model": model, "layer": name, "label": int(cls)},
                table.replace_schema_metadata(meta),
            )
        layer_done()
