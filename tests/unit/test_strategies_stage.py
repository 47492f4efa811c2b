"""The strategies stage's options on the small run's real networks: Grad-CAM where the model has
spatial layers (and Integrated Gradients, said so, where it has none), HDBSCAN, the split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pathways.engine.artifacts import Artifact
from pathways.engine.progress import Silent
from pathways.stages.strategies import strategies_stage

OPTIONS = dict(
    samples_per_class=30, ig_steps=4, map_side=14, max_strategies=8, neighbours=5,
    permutations=99, mask_share=0.1, seed=0,
)  # fmt: skip


def _run(store: Path, model: str, **how) -> dict:
    run = store / "small"
    return strategies_stage(
        Artifact(run / "data"),
        Artifact(run / "train" / model),
        Artifact(run / "paths" / model),
        **{**OPTIONS, **how},
        progress=Silent(),
    )


def test_gradcam_where_there_are_spatial_layers_and_a_reason_where_not(small_store: Path):
    cnn = _run(small_store, "lenet5", split="test", method="gradcam", clustering="spectral")
    assert cnn["settings"]["method"] == "gradcam" and cnn["settings"]["method_note"] is None
    assert (cnn["maps"] >= 0).all()  # Grad-CAM is ReLU'd: unlike Integrated Gradients
    assert len(cnn["members"]) == 24  # the 12 test samples of each of 1 and 7
    mlp = _run(small_store, "mlp", split="test", method="gradcam", clustering="spectral")
    assert mlp["settings"]["method"] == "integrated_gradients"
    assert "spatial feature maps" in mlp["settings"]["method_note"]
    assert (mlp["maps"] < 0).any()


@pytest.mark.parametrize("split,n", [("train", 60), ("all", 60)])
def test_the_draw_takes_the_split_asked_and_at_most_the_samples_asked(small_store, split, n):
    found = _run(
        small_store, "mlp", split=split, method="integrated_gradients", clustering="hdbscan"
    )
    members = found["members"]
    assert len(members) == n and (members.groupby("class").size() == 30).all()
    assert members["strategy"].min() >= -1 and np.isfinite(found["mean_maps"]).all()
    assert found["settings"]["clustering"] == "hdbscan"


def test_a_class_without_samples_in_the_split_is_a_clear_error() -> None:
    import pandas as pd

    from pathways.errors import DataError
    from pathways.stages.strategies import _drawn

    samples = pd.DataFrame({"sample_id": [0, 1, 2], "label": [1, 7, 7], "split": ["train"] * 3})
    with pytest.raises(DataError, match='class 1 has no test samples .* strategies.split = "all"'):
        _drawn(samples, 1, "test", 200, 0)
    assert list(_drawn(samples, 7, "all", 1, 0)) in ([1], [2])
