"""Activation tables: both layouts round-trip, pandas and DuckDB read them in one call."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pathways.errors import StoreError
from pathways.store.activations import activation_table, feature_map_table, layer_matrix, layers


def _samples(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    labels = rng.choice([1, 3, 7], size=n)
    return pd.DataFrame(
        {
            "sample_id": np.arange(n),
            "source_index": np.arange(n) * 3,
            "label": labels,
            "class_name": np.asarray(labels).astype(str),
            "split": pd.Categorical(
                rng.choice(["train", "test"], size=n), categories=["train", "test"]
            ),
            "seen": labels != 3,
            "predicted_class": rng.choice([1, 7], size=n),
            "confidence": rng.uniform(0.5, 1, size=n).astype(np.float32),
        }
    )


@pytest.fixture
def captured():
    rng = np.random.default_rng(1)
    n = 50
    layers_ = {
        "fc1": ("dense", rng.standard_normal((n, 12)).astype(np.float32)),
        "conv1:mean": ("channel_mean", rng.standard_normal((n, 3)).astype(np.float32)),
    }
    outputs = {"logit": ("logits", ["1", "7"], rng.standard_normal((n, 2)).astype(np.float32))}
    return _samples(n), layers_, outputs


@pytest.mark.parametrize("layout", ["wide", "list"])
def test_layouts_roundtrip_through_parquet(tmp_path, captured, layout):
    samples, layers_, outputs = captured
    path = tmp_path / "a.parquet"
    pq.write_table(activation_table(samples, layers_, outputs, layout), path)
    for name, (_, values) in layers_.items():
        np.testing.assert_array_equal(layer_matrix(path, name), values)
    np.testing.assert_array_equal(layer_matrix(path, "logit"), outputs["logit"][2])
    assert [info.name for info in layers(path)] == ["fc1", "conv1:mean", "logit"]
    df = pd.read_parquet(path)
    assert len(df) == 50 and df["label"].tolist() == samples["label"].tolist()
    with pytest.raises(StoreError, match="layer 'fc9' is not in"):
        layer_matrix(path, "fc9")


def test_wide_layout_is_a_plain_numeric_dataframe_and_duckdb_reads_it(tmp_path, captured):
    samples, layers_, outputs = captured
    path = tmp_path / "a.parquet"
    pq.write_table(activation_table(samples, layers_, outputs, "wide"), path)
    df = pd.read_parquet(path)
    assert "fc1__07" in df and df["fc1__07"].dtype == np.float32
    assert {"conv1_mean__0", "logit__1", "logit__7"} <= set(df.columns)
    by_label = df.groupby("label")["fc1__07"].mean()
    rows = duckdb.sql(
        f"SELECT label, avg(fc1__07) AS m, count(*) AS n FROM read_parquet('{path}') GROUP BY label ORDER BY label"
    ).fetchall()
    assert [r[0] for r in rows] == by_label.index.tolist()
    np.testing.assert_allclose([r[1] for r in rows], by_label.to_numpy(), rtol=1e-6)


def test_feature_maps_keep_their_shape(tmp_path):
    maps = np.arange(4 * 2 * 3 * 3, dtype=np.float32).reshape(4, 2, 3, 3)
    path = tmp_path / "f.parquet"
    pq.write_table(feature_map_table(np.arange(4), {"conv1": maps}), path)
    df = pd.read_parquet(path)
    np.testing.assert_array_equal(np.stack(df["conv1"].to_numpy()).reshape(maps.shape), maps)


def test_row_count_mismatch_is_refused(captured):
    samples, layers_, outputs = captured
    with pytest.raises(StoreError, match="rows for 49 samples"):
        activation_table(samples.iloc[:49], layers_, outputs)


@pytest.mark.parametrize("layout", ["wide", "list"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_the_analysis_never_reads_non_finite_activations(tmp_path, captured, layout, bad):
    samples, layers_, outputs = captured
    layers_["fc1"][1][7, 3] = bad
    path = tmp_path / "a.parquet"
    pq.write_table(activation_table(samples, layers_, outputs, layout), path)
    with pytest.raises(StoreError, match="layer fc1 holds NaN or infinite values"):
        layer_matrix(path, "fc1")
    assert layer_matrix(path, "conv1:mean").shape == (50, 3)  # the other layers still read
