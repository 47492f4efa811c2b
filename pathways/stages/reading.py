"""What the analysis stages read of a model's capture: the activation file, its samples and
its layers (shared by the stage modules, which do not import one another)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pathways.engine.artifacts import Artifact
from pathways.store.reading import layer_names, load_samples


def captured(capture: Artifact) -> tuple[Path, pd.DataFrame, list[str]]:
    """The capture's activation file, its samples table and its layers (input side first)."""
    path = capture.path("activations")
    return path, load_samples(path), layer_names(path)


def hidden_layers(layers: list[str]) -> list[str]:
    """The hidden layers: every captured layer but the logits."""
    return [name for name in layers if name != "logit"]
