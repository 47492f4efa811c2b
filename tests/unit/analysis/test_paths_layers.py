"""Paths, transitions, unseen flow; CKA, probes and the divergence-layer rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathways.analysis.layers import divergence_layer, linear_cka, probe_accuracy
from pathways.analysis.paths import (
    class_path_purity,
    path_distribution,
    path_purity,
    path_strings,
    transitions,
    unseen_flow,
)

CLUSTERS = pd.DataFrame({"fc1": [0, 0, 0, 1, 1, 1, 0, 1], "fc2": [2, 2, 1, 0, 0, 0, 2, 0]})
LABELS = np.array([1, 1, 1, 7, 7, 7, 3, 3])


def test_paths_distribution_and_transitions_by_hand():
    paths = path_strings(CLUSTERS)
    assert paths.tolist() == ["0>2", "0>2", "0>1", "1>0", "1>0", "1>0", "0>2", "1>0"]
    dist = path_distribution(paths, LABELS)
    one = dist[dist["class"] == 1]
    assert (
        one["path"].tolist() == ["0>2", "0>1"]
        and one["n"].tolist() == [2, 1]
        and one["rank"].tolist() == [1, 2]
    )
    assert one["share"].tolist() == pytest.approx([2 / 3, 1 / 3])
    trans = transitions(CLUSTERS, LABELS)
    row = trans[(trans["class"] == 1) & (trans.cluster_from == 0) & (trans.cluster_to == 2)]
    assert row["n"].item() == 2 and row["share"].item() == pytest.approx(2 / 3)
    assert set(trans["layer_from"]) == {"fc1"} and set(trans["layer_to"]) == {"fc2"}


def test_path_purity():
    paths = path_strings(CLUSTERS)
    purity = path_purity(paths, LABELS).set_index("path")
    assert purity.loc["1>0", "majority_class"] == 7 and purity.loc[
        "1>0", "purity"
    ] == pytest.approx(0.75)
    by_class = class_path_purity(paths, LABELS).set_index("class")
    assert (
        by_class.loc[7, "share_on_own_paths"] == 1.0
        and by_class.loc[3, "share_on_own_paths"] == 0.0
    )


def test_unseen_flow_and_relabelling_invariance():
    outliers = pd.DataFrame(False, index=CLUSTERS.index, columns=CLUSTERS.columns)
    reference = LABELS != 3
    flow = unseen_flow(CLUSTERS, outliers, LABELS, reference, [3])
    fc1 = flow[flow.layer == "fc1"].set_index("trained_class")["share"]
    assert fc1.to_dict() == {1: 0.5, 7: 0.5}
    relabelled = CLUSTERS.assign(fc1=1 - CLUSTERS["fc1"], fc2=(CLUSTERS["fc2"] + 1) % 3)
    again = unseen_flow(relabelled, outliers, LABELS, reference, [3])
    pd.testing.assert_frame_equal(flow, again)
    outliers.loc[6, "fc2"] = True
    flagged = unseen_flow(CLUSTERS, outliers, LABELS, reference, [3])
    assert flagged[(flagged.layer == "fc2") & (flagged.trained_class == -1)]["share"].item() == 0.5


def test_linear_cka_properties():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 10))
    rotation, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, 3.0 * x @ rotation + 5.0) == pytest.approx(1.0)
    assert linear_cka(x, rng.normal(size=(300, 10))) < 0.1


def test_probe_accuracy_separable_and_random():
    rng = np.random.default_rng(1)
    labels = np.repeat([1, 7], 100)
    separable = rng.normal(size=(200, 5)) + 4.0 * (labels == 7)[:, None]
    assert probe_accuracy(separable, labels)[0] > 0.98
    assert 0.3 < probe_accuracy(rng.normal(size=(200, 5)), labels)[0] < 0.7


def test_divergence_layer_rule():
    table = pd.DataFrame(
        {
            "layer": ["input", "a", "b", "c"],
            "depth": [-1, 0, 1, 2],
            "class_a": 1,
            "class_b": 7,
            "probe_accuracy": [0.99, 0.90, 0.995, 1.0],
            "cluster_purity": [np.nan, 0.95, 0.80, 0.95],
        }
    )
    found = divergence_layer(table, probe_fraction=0.99, purity=0.9).iloc[0]
    assert found["divergence_layer"] == "c" and found["depth"] == 2
    none = divergence_layer(table.assign(cluster_purity=0.5)).iloc[0]
    assert none["divergence_layer"] is None


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda layers: st.lists(
            st.lists(st.integers(-1, 12), min_size=layers, max_size=layers), max_size=30
        )
    )
)
def test_path_strings_join_each_row_in_layer_order(rows):
    width = len(rows[0]) if rows else 1
    table = pd.DataFrame(rows, columns=[f"l{i}" for i in range(width)], dtype=np.int64)
    expected = [">".join(str(c) for c in row) for row in rows]
    assert path_strings(table).tolist() == expected


def test_linear_cka_against_several_references_equals_each_alone():
    from pathways.analysis.layers import LinearCka

    rng = np.random.default_rng(3)
    images, logits = rng.normal(size=(200, 30)), rng.normal(size=(200, 2))
    layer = images[:, :8] @ rng.normal(size=(8, 6)) + 0.1 * rng.normal(size=(200, 6))
    both = LinearCka(images, logits)
    assert both(layer) == pytest.approx((linear_cka(layer, images), linear_cka(layer, logits)))
    assert both(images) == (1.0, pytest.approx(linear_cka(images, logits)))  # itself: no product
    assert both(images.copy())[0] == pytest.approx(1.0)  # an equal copy is computed, and agrees
