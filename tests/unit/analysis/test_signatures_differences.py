"""Signatures and per-unit differences on synthetic activations with planted structure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pathways.analysis.differences import class_pairs, summarise_differences, unit_differences
from pathways.analysis.signatures import class_signatures, signature_matrix


def test_selectivity_firing_rate_and_top_units():
    rng = np.random.default_rng(0)
    labels = np.repeat([1, 7, 3], 50)
    values = rng.uniform(0, 0.1, (150, 4))
    values[labels == 1, 0] += 2.0  # unit 0: a "1" unit
    values[labels == 7, 1] += 2.0  # unit 1: a "7" unit
    values[:, 3] = 0.0  # unit 3: dead
    sig = class_signatures(values, labels, ["a", "b", "c", "d"], threshold=0.5, top=1)
    one = sig[sig["class"] == 1].set_index("unit")
    assert one.loc["a", "selectivity"] > 0.9 and one.loc["a", "firing_rate"] == 1.0
    assert one.loc["b", "selectivity"] < -0.5 and one.loc["b", "firing_rate"] == 0.0
    assert one.loc["d", "selectivity"] == 0.0 and one.loc["d", "mean"] == 0.0
    assert sig[(sig["class"] == 7) & sig["top"]]["unit"].tolist() == ["b"]
    assert signature_matrix(sig).shape == (4, 3)


def test_signatures_do_not_depend_on_sample_order():
    rng = np.random.default_rng(1)
    labels = rng.choice([1, 7], 200)
    values = rng.gamma(2.0, size=(200, 8))
    order = rng.permutation(200)
    a = class_signatures(values, labels, list("abcdefgh"))
    b = class_signatures(values[order], labels[order], list("abcdefgh"))
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-10)


def test_planted_differences_are_found():
    rng = np.random.default_rng(2)
    n, units, planted = 120, 200, 20
    values = rng.normal(size=(2 * n, units))
    labels = np.repeat([1, 7], n)
    values[labels == 7, :planted] += 1.0
    diff = unit_differences(values, labels, [str(i) for i in range(units)], 1, 7, alpha=0.05)
    found = diff["significant"].to_numpy()
    assert found[:planted].sum() >= 18
    assert found[planted:].sum() <= 3
    assert (diff["cohen_d"][:planted] < -0.6).all() and (diff["auroc"][:planted] < 0.35).all()
    summary = summarise_differences(diff.assign(layer="fc1"))
    assert summary.loc[0, "n_significant"] == found.sum()


def test_null_data_false_positive_rate_is_nominal():
    rng = np.random.default_rng(3)
    n, units = 80, 3000
    values = rng.normal(size=(2 * n, units))
    labels = np.repeat([1, 7], n)
    diff = unit_differences(values, labels, [str(i) for i in range(units)], 1, 7, alpha=0.05)
    raw_rate = (diff["p_value"] < 0.05).mean()
    assert 0.04 <= raw_rate <= 0.06, raw_rate
    assert diff["significant"].sum() <= 3  # FDR-controlled: ~0 discoveries under the global null


def test_class_pairs():
    assert class_pairs([7, 1], [3]) == [(1, 7), (3, 1), (3, 7)]
