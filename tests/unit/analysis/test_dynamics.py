"""Training dynamics on planted activations: a layer made to separate two classes only from a
given epoch is reported from that epoch, a layer that never changes has settled at once, and
an unseen class called one trained class from a given epoch is reported so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pathways.analysis.cluster import LayerClusterer
from pathways.analysis.dynamics import (
    DynamicsSettings,
    SnapshotSamples,
    aligned_map,
    called_as_from,
    parting_epoch,
    settled_epoch,
    snapshot_measures,
)

EPOCHS = [0, 1, 2, 3, 4]
PARTS_AT = 2  # fc2 and the logits separate 1 from 7 from this epoch on
CALLED_AT = 3  # the 3s are called 7 from this epoch on


def planted(epoch: int, rng: np.random.Generator, labels: np.ndarray):
    n = len(labels)
    fixed = np.random.default_rng(99)  # fc1 never changes: the same values at every epoch
    fc1 = fixed.normal(size=(n, 12)).astype(np.float32)
    fc2 = rng.normal(size=(n, 8)).astype(np.float32)
    logits = rng.normal(scale=0.1, size=(n, 2)).astype(np.float32)
    if epoch >= PARTS_AT:
        fc2[labels == 1, :4] += 6.0
        fc2[labels == 7, 4:] += 6.0
        logits[labels == 1, 0] += 5.0
        logits[labels == 7, 1] += 5.0
    # the unseen 3s: called 1 before CALLED_AT, 7 from then on
    logits[labels == 3, 0 if epoch < CALLED_AT else 1] += 8.0
    return {"fc1": fc1, "fc2": fc2}, logits


@pytest.fixture(scope="module")
def measured():
    labels = np.repeat([1, 7, 3], 120)
    split = np.tile(np.r_[np.zeros(90, bool), np.ones(30, bool)], 3)
    samples = SnapshotSamples(labels, (labels != 3) & ~split, split, [1, 7], [3])
    settings = DynamicsSettings(LayerClusterer("kmeans", "pca", 5, n_clusters=4))
    final, final_logits = planted(EPOCHS[-1], np.random.default_rng(EPOCHS[-1]), labels)
    final = {**final, "logit": final_logits}
    tables: dict[str, list[pd.DataFrame]] = {}
    for epoch in EPOCHS:
        layers, logits = planted(epoch, np.random.default_rng(epoch), labels)
        for name, table in snapshot_measures(
            epoch, layers, logits, final, samples, settings
        ).items():
            tables.setdefault(name, []).append(table)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in tables.items()}


def test_the_planted_parting_epoch_and_layer_are_recovered(measured):
    parted = parting_epoch(measured["divergence"], 1, 7)
    assert parted == {
        "epoch": PARTS_AT,
        "layer": "fc2",
        "final_layer": "fc2",
        "final_from": PARTS_AT,
    }
    pairs = measured["pairs"].set_index(["epoch", "layer"])
    assert pairs.loc[(PARTS_AT - 1, "fc2"), "probe_accuracy"] < 0.75
    assert pairs.loc[(PARTS_AT, "fc2"), "probe_accuracy"] > 0.98
    assert pairs.loc[(PARTS_AT, "fc2"), "share_differing"] == pytest.approx(1.0)
    assert pairs.loc[(PARTS_AT - 1, "fc2"), "share_differing"] < 0.3


def test_a_pair_that_parts_early_at_one_layer_and_later_at_another_is_told_both():
    divergence = pd.DataFrame(
        {
            "epoch": [0, 1, 2, 4],
            "class_a": 1,
            "class_b": 7,
            "divergence_layer": ["conv1", "conv3", "conv3", "conv3"],
        }
    )
    assert parting_epoch(divergence, 1, 7) == {
        "epoch": 0,
        "layer": "conv1",
        "final_layer": "conv3",
        "final_from": 1,
    }
    lost = divergence.assign(divergence_layer=["fc1", None, "fc1", None])
    assert parting_epoch(lost, 1, 7) is None  # not parted at the last snapshot


def test_an_unchanged_layer_has_settled_at_once_and_a_changing_one_later(measured):
    settled = settled_epoch(measured["layers"])
    assert settled["fc1"] == 0  # identical to the final network at every epoch: CKA 1
    layers = measured["layers"].set_index(["epoch", "layer"])
    assert layers.loc[(0, "fc1"), "cka_final"] == pytest.approx(1.0)
    assert settled["fc2"] == PARTS_AT  # noise before, the planted split (shared with the end) after
    assert layers.loc[(PARTS_AT - 1, "fc2"), "cka_final"] < 0.5


def test_the_epoch_an_unseen_class_is_called_a_trained_one(measured):
    called = called_as_from(measured["predictions"], 3)
    assert called == {"predicted_class": 7, "epoch": CALLED_AT, "share": 1.0}
    novelty = measured["novelty"]
    assert {"signature_knn_path", "msp"} <= set(novelty["method"])
    assert set(novelty["epoch"]) == set(EPOCHS)


def test_aligned_maps_keep_their_orientation_from_epoch_to_epoch():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(200, 6)) * np.array([5, 3, 1, 1, 1, 1])
    first = aligned_map(values, None)
    flipped = aligned_map(-values, first)  # the same geometry, PCA's sign flipped
    np.testing.assert_allclose(flipped, first, atol=1e-5)
