"""The network and the seeded samples every intervention of one model runs on."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from pathways.data.subsets import ImageFormat, read_samples
from pathways.engine.artifacts import Artifact
from pathways.nets.inputs import model_inputs
from pathways.nets.interventions import layer_outputs
from pathways.nets.trained import load_trained_model

StoredModel = tuple[dict[str, Any], torch.nn.Module, pd.DataFrame, np.ndarray]
"""A trained model's description, its network, the run's samples and their images."""


@dataclass
class Setup:
    """One model's network and the seeded samples every intervention runs on."""

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
    """Per layer: the trained classes' mean output (what mean-ablation sets a unit to)."""
    train_outputs: dict[str, torch.Tensor]
    """Per layer: full outputs of the trained classes' seeded train samples (``train_ids``
    order, classes in output order)."""

    @property
    def n_samples(self) -> int:
        return sum(len(ids) for ids in self.test.values())

    def limited(self, per_class: int, seed: int) -> Setup:
        """The same setup with at most ``per_class`` test samples of each class (a seeded draw
        from its sample, kept in sample_id order); the train samples are kept."""
        rng = np.random.default_rng([seed, 3])
        kept = {c: np.sort(rng.permutation(len(ids))[:per_class]) for c, ids in self.test.items()}
        return replace(
            self,
            test={c: ids[kept[c]] for c, ids in self.test.items()},
            inputs={c: x[torch.from_numpy(kept[c])] for c, x in self.inputs.items()},
        )

    def partner_rows(self, cls: int, partner: int) -> np.ndarray:
        """Rows of trained class ``cls``'s test sample set aside for ``partner`` (another
        trained class): a fixed shuffle of them cut into one near-equal part per other class,
        so a class meets each of the others on its own share of its samples and the work of a
        pairing grows with the classes, not with their square (two classes: every sample)."""
        partners = [c for c in self.classes if c != cls]
        order = np.random.default_rng([cls, len(self.test[cls])]).permutation(len(self.test[cls]))
        return np.sort(np.array_split(order, len(partners))[partners.index(partner)])

    @classmethod
    def of(
        cls,
        name: str,
        model: torch.nn.Module,
        classes: list[int],
        layers: list[str],
        test: dict[int, tuple[np.ndarray, torch.Tensor]],
        train: dict[int, tuple[np.ndarray, torch.Tensor]],
    ) -> Setup:
        """A setup from its samples: ``test`` for every class and ``train`` for every trained
        class, each (sample_ids, network inputs)."""
        for module in model.modules():  # edits replace outputs; an in-place op would undo them
            if getattr(module, "inplace", False):
                module.inplace = False
        model.eval()
        pooled = torch.cat([train[c][1] for c in classes])
        outputs = layer_outputs(model, pooled, layers)
        return cls(
            name=name,
            model=model,
            classes=list(classes),
            layers=list(layers),
            units={layer: int(outputs[layer].shape[1]) for layer in layers},
            test={c: ids for c, (ids, _) in test.items()},
            inputs={c: x for c, (_, x) in test.items()},
            train_ids={c: train[c][0] for c in classes},
            baseline={layer: values.mean(0) for layer, values in outputs.items()},
            train_outputs=outputs,
        )

    @classmethod
    def build(
        cls,
        stored: StoredModel,
        trained: list[int],
        unseen: list[int],
        per_class: int,
        seed: int,
        max_layers: int | None = None,
    ) -> Setup:
        """The setup of a trained model of the store (:func:`stored_model`): ``per_class``
        seeded test samples of every class and train samples of every trained class, on at
        most ``max_layers`` hidden layers (:func:`edited_layers`)."""
        description, model, samples, images = stored
        rng = np.random.default_rng(seed)

        def sample(label: int, split: str) -> tuple[np.ndarray, torch.Tensor]:
            mine = samples.loc[
                (samples["label"] == label) & (samples["split"].astype(str) == split), "sample_id"
            ].to_numpy()
            ids = np.sort(rng.choice(mine, size=min(per_class, len(mine)), replace=False))
            return ids, network_inputs(description, images[ids])

        classes = list(description["classes"])  # the trained classes, in output order
        test = {c: sample(c, "test") for c in [*classes, *unseen]}
        fitted = {c: sample(c, "train") for c in classes}
        layers = edited_layers(list(description["hidden_layers"]), max_layers)
        return cls.of(description["spec"]["name"], model, classes, layers, test, fitted)


def edited_layers(hidden: list[str], most: int | None) -> list[str]:
    """Every hidden layer up to ``most`` of them; above, ``most`` spread evenly from the first
    to the last.

    >>> edited_layers([f"relu#{i}" for i in range(16)], 6)
    ['relu#0', 'relu#3', 'relu#6', 'relu#9', 'relu#12', 'relu#15']
    """
    if most is None or len(hidden) <= most:
        return hidden
    picked = np.unique(np.linspace(0, len(hidden) - 1, most).round().astype(int))
    return [hidden[i] for i in picked]


def stored_model(data: Artifact, train: Artifact) -> StoredModel:
    """A trained model of the store: its description, the network, the run's samples and images."""
    description = train["model"]
    model = load_trained_model(description, train["weights.pt"])
    samples, images = read_samples(data.path("samples"))
    return description, model, samples, images


def network_inputs(description: dict[str, Any], images: np.ndarray) -> torch.Tensor:
    """Stored images as the network described by ``description`` takes them."""
    image = ImageFormat.from_json(description["image"])
    return model_inputs(images, description["input_kind"], image)
