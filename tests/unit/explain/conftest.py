"""A trained LeNet-5 from the small run, with some of its test digits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pathways.data.subsets import ImageFormat, read_samples
from pathways.engine.artifacts import Artifact
from pathways.nets.inputs import model_inputs
from pathways.nets.trained import load_trained_model

DIGIT = ImageFormat((28, 28))


@pytest.fixture(scope="session")
def lenet5_and_digits(small_store: Path):
    run = small_store / "small"
    train = Artifact(run / "train" / "lenet5")
    model = load_trained_model(train["model"], train["weights.pt"])
    samples, images = read_samples(run / "data" / "samples.parquet")
    test = samples[(samples["split"].astype(str) == "test") & samples["seen"]].head(8)
    x = model_inputs(images[test.index.to_numpy()], "image32", DIGIT)
    classes = train["model"]["classes"]
    targets = np.array([classes.index(int(c)) for c in test["label"]])
    return model, x, targets
