"""The network and the seeded samples every intervention of one model runs on."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pathways.data.subsets import ImageFormat, read_samples
from pathways.engine.artifacts import Artifact
from pathways.nets.inputs import model_inputs
from pathways.nets.interventions import layer_outputs
from pathways.nets.trained import load_trained_model


class Setup:
    """One model's network and the seeded samples every intervention runs on."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    name: str
    model: torch.nn.Module
    classes: list[int]
    """The network's outputs: output ``i`` is ``classes[i]``."""
    layers: list[str]
    units: dict[str, int]
    """Units (channels) per layer."""
    test: dict[int, np.ndarray]
    """Per class (trained and unseen): sample_ids of its seeded test sample."""
    inputs: dict[int, torch.Tensor]
    """Per class: the network's input for those samples."""
    train_ids: dict[int, np.ndarray]
    baseline: dict[str, torch.Tensor]
    """Per layer: the value ablation sets a unit to (the trained classes' mean, or zero)."""
    train_outputs: dict[str, torch.Tensor]
    """Per layer: full outputs of the trained classes' seeded train samples (``train_ids`` order)."""
    n_samples: int

    @classmethod
    def build(
        cls,
        data: Artifact,
        train: Artifact,
        trained: list[int],
        unseen: list[int],
        per_class: int,
        seed: int,
    ) -> Setup:
        description = train["model"]
        model = load_trained_model(description, train["weights.pt"])
        for module in model.modules():  # edits replace outputs; an in-place op would undo them
            if getattr(module, "inplace", False):
                module.inplace = False
        samples, images = read_samples(data.path("samples"))
        image = ImageFormat.from_json(description["image"])
        rng = np.random.default_rng(seed)

        def sample(label: int, split: str) -> np.ndarray:
            mine = samples.loc[
                (samples["label"] == label) & (samples["split"].astype(str) == split), "sample_id"
            ].to_numpy()
            return np.sort(rng.choice(mine, size=min(per_class, len(mine)), replace=False))

        def inputs(ids: np.ndarray) -> torch.Tensor:
            return model_inputs(images[ids], description["input_kind"], image)

        classes = list(description["classes"])  # the trained classes, in output order
        test = {c: sample(c, "test") for c in [*classes, *unseen]}
        train_ids = {c: sample(c, "train") for c in classes}
        layers = list(description["hidden_layers"])
        pooled = torch.cat([inputs(train_ids[c]) for c in classes])
        outputs = layer_outputs(model, pooled, layers)
        return cls(
            name=description["spec"]["name"],
            model=model,
            classes=classes,
            layers=layers,
            units={layer: int(outputs[layer].shape[1]) for layer in layers},
            test=test,
            inputs={c: inputs(ids) for c, ids in test.items()},
            train_ids=train_ids,
            baseline={layer: values.mean(0) for layer, values in outputs.items()},
            train_outputs=outputs,
            n_samples=sum(len(v) for v in test.values()),
        )
