"""The rotation study and the explain stage's outputs on the small run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pathways.data.subsets import read_samples
from pathways.engine.artifacts import Artifact
from pathways.explain.rotation import rotate


def test_rotate_turns_counter_clockwise_and_keeps_the_size(mnist):
    digits = mnist.images[:5]
    np.testing.assert_array_equal(rotate(digits, 90), np.rot90(digits, 1, axes=(1, 2)))
    np.testing.assert_array_equal(rotate(digits, -90), np.rot90(digits, -1, axes=(1, 2)))
    np.testing.assert_array_equal(rotate(digits, 0), digits)
    assert rotate(digits, 30).shape == digits.shape and rotate(digits, 30).dtype == np.uint8


def test_rotation_curves_start_from_the_model_s_own_accuracy(small_store: Path):
    run = small_store / "small"
    rotation = Artifact(run / "rotation" / "lenet5")
    curves, drift = rotation["curves"], rotation["drift"]
    activations = pd.read_parquet(
        run / "capture" / "lenet5" / "activations.parquet",
        columns=["sample_id", "label", "split", "predicted_class"],
    )
    test = activations[activations["split"].astype(str) == "test"]
    for label in (1, 7):
        # rotation_samples_per_class (50) exceeds the 12 test samples: all of them are used
        members = test[test["label"] == label]
        at_zero = curves[(curves.angle == 0) & (curves.label == label)].iloc[0]
        assert at_zero["n"] == len(members)
        assert at_zero["accuracy"] == (members["predicted_class"] == label).mean()
        assert abs(at_zero[["prob_1", "prob_7"]].sum() - 1) < 1e-5
    unseen = curves[curves.label == 3]
    assert unseen["accuracy"].isna().all() and (~unseen["seen"]).all()
    assert set(curves["angle"]) == {float(a) for a in range(-90, 91, 15)}
    # unrotated test samples lie inside their signature (the limit is their 95th percentile)
    assert drift.loc[drift.angle == 0, "share_outside"].max() <= 0.1
    assert list(dict.fromkeys(drift["layer"])) == ["conv1", "conv2", "conv3", "fc1", "logit"]
    # turning a digit upside down moves it further from its signature than not turning it
    far = drift[drift.angle.abs() == 90].groupby("layer")["distance"].mean()
    near = drift[drift.angle == 0].groupby("layer")["distance"].mean()
    assert (far > near).all()


def test_explain_outputs_fit_together(small_store: Path):
    run = small_store / "small"
    explain = Artifact(run / "explain" / "lenet5")
    explained, clusters = explain["explained"], explain["clusters"]
    examples = explained[explained["example"]]
    assert examples.groupby("label").size().to_dict() == {1: 8, 3: 8, 7: 8}
    n = len(explained)
    # every map in the stored image's pixels (28 × 28), whatever the network's input (32 × 32)
    for name in ("images", "occlusion_predicted", "integrated_gradients", "gradcam", "deconv"):
        assert explain[name].shape == (n, 28, 28), name
        assert np.isfinite(explain[name]).all(), name
    assert explain["settings"]["methods"] == dict.fromkeys(
        ("occlusion", "integrated_gradients", "gradcam", "deconv")
    )
    occlusion_true = explain["occlusion_true"]
    assert occlusion_true.shape == (len(examples), 28, 28)
    unseen = ~examples["seen"].to_numpy()
    assert np.isnan(occlusion_true[unseen]).all() and np.isfinite(occlusion_true[~unseen]).all()
    assert explain["maps_conv2"].shape == (len(examples), 16, 10, 10)
    assert (explain["gradcam"] >= 0).all()

    # every cluster of every hidden layer has mean maps, built from its members
    assignments = pd.read_parquet(run / "clusters" / "lenet5" / "assignments.parquet")
    hidden = assignments[assignments.layer != "logit"]
    expected = hidden.groupby("layer", sort=False)["cluster"].nunique()
    assert clusters.groupby("layer", sort=False).size().to_dict() == expected.to_dict()
    _, images = read_samples(run / "data" / "samples.parquet")
    members = explain["cluster_members"]
    for row in clusters.itertuples():
        ids = members[(members.layer == row.layer) & (members.cluster == row.cluster)]["sample_id"]
        assert len(ids) == row.n_used == min(24, row.size)
        truth = assignments[(assignments.layer == row.layer) & assignments.sample_id.isin(ids)]
        assert (truth["cluster"] == row.cluster).all()
        mean = images[ids.to_numpy()].astype(np.float32) / 255
        np.testing.assert_allclose(explain["cluster_image"][row.index], mean.mean(0), atol=1e-6)


def test_the_samples_explained_do_not_grow_with_the_layers():
    """Cluster members come first from one pool shared by the layers: with 16 layers of 3
    clusters each, the samples explained stay near the pool's 144, not 16 × 3 × 24."""
    from pathways.stages.explain import _members

    rng = np.random.default_rng(1)
    layers = [f"layer{i}" for i in range(16)]
    assignments = pd.concat(
        [
            pd.DataFrame(
                {"layer": layer, "sample_id": np.arange(3000), "cluster": rng.integers(0, 3, 3000)}
            )
            for layer in layers
        ],
        ignore_index=True,
    )
    members = _members(assignments, layers, 24, seed=0)
    for (layer, cluster), group in members.groupby(["layer", "cluster"]):
        truth = assignments[(assignments.layer == layer) & (assignments.cluster == cluster)]
        assert len(group) == 24 and group["sample_id"].isin(truth["sample_id"]).all()
        assert group["sample_id"].is_unique
    assert members["sample_id"].nunique() <= 200  # 16 × 3 × 24 = 1,152 drawn layer by layer
