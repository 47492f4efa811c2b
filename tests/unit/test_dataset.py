"""The partitioned dataset: DuckDB and Dask read one (model, layer, class) without the rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pathways.store.reading import load_layer


def test_partitions_hold_the_captured_values(small_store: Path):
    run = small_store / "small"
    root = run / "dataset" / "lenet5" / "activations"
    files = sorted(root.rglob("*.parquet"))
    layers = ["conv1", "conv2", "conv3", "fc1", "logit"]
    assert len(files) == len(layers) * 3  # every (layer, class)
    part = pd.read_parquet(root / "model=lenet5" / "layer=conv2" / "label=3")
    layer = load_layer(run / "capture" / "lenet5" / "activations.parquet", "conv2")
    ids = part["sample_id"].to_numpy()
    np.testing.assert_array_equal(np.stack(part["values"].to_numpy()), layer.values[ids])
    samples = pd.read_parquet(run / "data" / "samples.parquet", columns=["sample_id", "label"])
    assert set(ids) == set(samples.loc[samples.label == 3, "sample_id"])


def test_duckdb_reads_only_the_filtered_files(small_store: Path):
    import duckdb

    pattern = str(
        small_store / "small" / "dataset" / "*" / "activations" / "*" / "*" / "*" / "*.parquet"
    )
    query = (
        f"SELECT model, layer, label, count(*) AS n FROM read_parquet('{pattern}', "
        "hive_partitioning = true) WHERE model = 'mlp' AND layer = 'fc2' GROUP BY ALL ORDER BY label"
    )
    result = duckdb.sql(query).df()
    assert result[["model", "layer"]].drop_duplicates().values.tolist() == [["mlp", "fc2"]]
    assert result["label"].tolist() == [1, 3, 7] and result["n"].sum() == 180
    plan = duckdb.sql("EXPLAIN ANALYZE " + query).df().iloc[0, 1]
    read = [name for name in plan.replace(",", " ").split() if name.endswith(".parquet")]
    assert len(read) == 3 and all("layer=fc2" in name for name in read)


def test_dask_reads_with_partition_filters(small_store: Path):
    import dask.dataframe as dd

    pattern = str(
        small_store / "small" / "dataset" / "*" / "activations" / "*" / "*" / "*" / "*.parquet"
    )
    frame = dd.read_parquet(
        pattern,
        filters=[("layer", "==", "fc1"), ("label", "==", 7)],
        dataset={"partitioning": "hive"},
    )
    assert frame.npartitions == 2  # fc1 of both models, class 7 only
    result = frame.compute()
    assert sorted(result["model"].astype(str).unique()) == ["lenet5", "mlp"]
    assert set(result["label"].astype(int)) == {7} and len(result) == 2 * 60
