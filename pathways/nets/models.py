"""The built-in networks: a configurable MLP, LeNet-5 and a configurable CNN.

Every hidden layer is one named module whose output is the layer's *post-activation* output,
so capturing a layer means hooking one module. ``model.hidden_layers`` maps each of those
module names to how its output is stored: ``"dense"`` (one value per unit) or ``"conv"``
(feature maps, stored as per-channel spatial mean and max, and optionally in full).

Example
-------
>>> from pathways.nets.models import LeNet5
>>> sum(p.numel() for p in LeNet5(n_classes=10).parameters())
61706
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import Tensor, nn

from pathways.experiment.model_types import CNNSpec, LeNet5Spec, MLPSpec, model_type
from pathways.registry import load_named

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
_POOLS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


class MLP(nn.Module):
    """The flattened image (``in_features`` values) → ``hidden`` fully connected layers → one
    logit per class.

    Hidden layers are named ``fc1``, ``fc2``, … and the last linear layer ``output``.
    """

    def __init__(
        self, hidden: list[int], n_classes: int, activation: str = "relu", in_features: int = 784
    ) -> None:
        super().__init__()
        widths = [in_features, *hidden]
        self.hidden_layers: dict[str, str] = {}
        for i, (w_in, w_out) in enumerate(zip(widths, widths[1:], strict=False), start=1):
            self.add_module(
                f"fc{i}", nn.Sequential(nn.Linear(w_in, w_out), _ACTIVATIONS[activation]())
            )
            self.hidden_layers[f"fc{i}"] = "dense"
        self.output = nn.Linear(widths[-1], n_classes)

    @classmethod
    def from_spec(cls, spec: MLPSpec, n_classes: int, in_features: int = 784) -> MLP:
        return cls(list(spec.hidden), n_classes, spec.activation, in_features)

    def forward(self, x: Tensor) -> Tensor:
        x = x.flatten(1)
        for name in self.hidden_layers:
            x = getattr(self, name)(x)
        return self.output(x)


class LeNet5(nn.Module):
    """LeNet-5 for 1×32×32 input (MNIST digits zero-padded from 28×28).

    conv1 6@5×5 → 6×28×28, pool 2×2 → 14×14, conv2 16@5×5 → 10×10, pool → 5×5,
    conv3 120@5×5 → 120×1×1, fc1 84, output ``n_classes``. With 10 classes it has the 61,706
    parameters of the original.
    """

    def __init__(self, n_classes: int, activation: str = "relu", pooling: str = "max") -> None:
        super().__init__()
        act, pool = _ACTIVATIONS[activation], _POOLS[pooling]
        self.conv1 = nn.Sequential(nn.Conv2d(1, 6, 5), act())
        self.pool1 = pool(2)
        self.conv2 = nn.Sequential(nn.Conv2d(6, 16, 5), act())
        self.pool2 = pool(2)
        self.conv3 = nn.Sequential(nn.Conv2d(16, 120, 5), act(), nn.Flatten())
        self.fc1 = nn.Sequential(nn.Linear(120, 84), act())
        self.output = nn.Linear(84, n_classes)
        self.hidden_layers: dict[str, str] = {
            "conv1": "conv",
            "conv2": "conv",
            "conv3": "dense",  # 120 maps of 1×1: one value per unit
            "fc1": "dense",
        }
        # Modules whose outputs are spatial feature maps (conv3's inner ReLU: before Flatten).
        self.feature_map_layers: dict[str, str] = {
            "conv1": "conv1",
            "pool1": "pool1",
            "conv2": "conv2",
            "pool2": "pool2",
            "conv3": "conv3.1",
        }

    @classmethod
    def from_spec(cls, spec: LeNet5Spec, n_classes: int) -> LeNet5:
        return cls(n_classes, spec.activation, spec.pooling)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool1(self.conv1(x))
        x = self.pool2(self.conv2(x))
        return self.output(self.fc1(self.conv3(x)))


class CNN(nn.Module):
    """A configurable CNN for 1×28×28 input: conv blocks ``conv1`` … (conv with the size kept
    by padding, optional batch norm, activation), each followed by 2×2 pooling ``pool1`` …,
    then dropout, dense layers ``fc1`` … and the output layer.

    Analysis layers: every conv block (feature maps: stored as per-channel mean and max) and
    every dense layer.
    """

    def __init__(
        self,
        conv: list[tuple[int, int]],
        dense: list[int],
        n_classes: int,
        *,
        pool: str = "max",
        batchnorm: bool = False,
        dropout: float = 0.0,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        act = _ACTIVATIONS[activation]
        self.hidden_layers: dict[str, str] = {}
        self.feature_map_layers: dict[str, str] = {}
        channels, side = 1, 28
        for i, (out, kernel) in enumerate(conv, start=1):
            parts = [nn.Conv2d(channels, out, kernel, padding="same")]
            parts += [nn.BatchNorm2d(out)] if batchnorm else []
            self.add_module(f"conv{i}", nn.Sequential(*parts, act()))
            self.add_module(f"pool{i}", _POOLS[pool](2))
            self.hidden_layers[f"conv{i}"] = "conv"
            self.feature_map_layers |= {f"conv{i}": f"conv{i}", f"pool{i}": f"pool{i}"}
            channels, side = out, side // 2
        self.n_blocks = len(conv)
        self.dropout = nn.Sequential(nn.Flatten(), nn.Dropout(dropout))
        widths = [channels * side * side, *dense]
        for i, (w_in, w_out) in enumerate(zip(widths, widths[1:], strict=False), start=1):
            self.add_module(f"fc{i}", nn.Sequential(nn.Linear(w_in, w_out), act()))
            self.hidden_layers[f"fc{i}"] = "dense"
        self.n_dense = len(dense)
        self.output = nn.Linear(widths[-1], n_classes)

    @classmethod
    def from_spec(cls, spec: CNNSpec, n_classes: int) -> CNN:
        return cls(
            [tuple(block) for block in spec.conv],
            list(spec.dense),
            n_classes,
            pool=spec.pool,
            batchnorm=spec.batchnorm,
            dropout=spec.dropout,
            activation=spec.activation,
        )

    def forward(self, x: Tensor) -> Tensor:
        for i in range(1, self.n_blocks + 1):
            x = getattr(self, f"pool{i}")(getattr(self, f"conv{i}")(x))
        x = self.dropout(x)
        for i in range(1, self.n_dense + 1):
            x = getattr(self, f"fc{i}")(x)
        return self.output(x)


def build_network(spec: Any, n_classes: int, image: Any, folders: Any = ()) -> nn.Module:
    """A built-in network of ``spec`` for images of ``image``'s shape (an ImageFormat;
    ``folders`` is for a user's network and not used here)."""
    if isinstance(spec, MLPSpec):
        return MLP.from_spec(spec, n_classes, int(np.prod(image.shape)))
    return {LeNet5Spec: LeNet5, CNNSpec: CNN}[type(spec)].from_spec(spec, n_classes)


def build_model(spec: Any, n_classes: int, image: Any, folders: Any = ()) -> nn.Module:
    """The untrained network a model spec declares (weights from torch's current RNG), built by
    its model type's network (:mod:`pathways.experiment.model_types`) for images of ``image``'s shape;
    a user's network's module is imported from ``folders``."""
    return load_named(model_type(spec.type).network)(spec, n_classes, image, list(folders))
