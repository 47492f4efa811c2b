"""Every model type pathways can train, declared once: its settings, network, input, explanations.

A model type is one entry of :data:`MODEL_TYPES`: the settings block of a ``[[models]]`` table
(a pydantic class whose ``type`` field names the type), the network that builds it
(``"module:Class"``, imported only when a model is trained or loaded: no torch here), the form
its input takes (``flat``: 784 values; ``image32``: 1×32×32, digits zero-padded; ``image28``:
1×28×28) and whether the CNN explanations (occlusion, Grad-CAM, DeconvNet, feature maps) apply.
The config's ``[[models]]`` union, its error messages, the plan (which models get an
``explain`` step) and the network stages read it from here.

Adding a model type: its settings class and one :func:`register` call below, and its network
(an ``nn.Module`` with ``hidden_layers``, ``from_spec(spec, n_classes)`` and, for a CNN,
``feature_map_layers``) in :mod:`pathways.models`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, model_validator

from pathways.schema import ModelName, Strict


@dataclass(frozen=True)
class ModelType:
    name: str
    spec: type[Strict]
    network: str
    """``"module:Class"`` of the ``nn.Module``; ``Class.from_spec(spec, n_classes)`` builds it."""
    input_kind: str
    """One of :data:`INPUT_FORMS` (``pathways.data.subsets.model_inputs`` makes them)."""
    explanations: bool = False
    """Occlusion, Grad-CAM, DeconvNet and feature maps (``explain/M``) apply to it."""

    @property
    def input_side(self) -> int | None:
        """The side of its square input image in pixels (None for a flat input)."""
        return INPUT_FORMS[self.input_kind]


INPUT_FORMS: dict[str, int | None] = {"flat": None, "image28": 28, "image32": 32}
"""The input forms a network can take, with the side of the image each one is."""


MODEL_TYPES: dict[str, ModelType] = {}


def register(model_type: ModelType) -> ModelType:
    if model_type.name in MODEL_TYPES:
        raise ValueError(f"model type {model_type.name!r} is registered twice")
    MODEL_TYPES[model_type.name] = model_type
    return model_type


def model_type(name: str) -> ModelType:
    """The registered model type ``name`` (KeyError naming the known ones otherwise)."""
    try:
        return MODEL_TYPES[name]
    except KeyError:
        raise KeyError(f"unknown model type {name!r} — known: {', '.join(MODEL_TYPES)}") from None


class MLPSpec(Strict):
    """A fully connected network: flattened 28×28 input → hidden widths → one logit per class."""

    name: ModelName
    type: Literal["mlp"]
    hidden: list[Annotated[int, Field(gt=0, le=65_536)]] = Field(
        default_factory=lambda: [256, 128, 64], min_length=1
    )
    activation: Literal["relu", "tanh"] = "relu"


class LeNet5Spec(Strict):
    """LeNet-5 on 32×32 input: conv 6@5×5, pool, conv 16@5×5, pool, conv 120@5×5, fc 84, output."""

    name: ModelName
    type: Literal["lenet5"]
    activation: Literal["relu", "tanh"] = "relu"
    pooling: Literal["max", "avg"] = "max"

    @property
    def conv_layers(self) -> list[str]:
        """The conv layers with spatial maps (Grad-CAM and DeconvNet layers)."""
        return ["conv1", "conv2"]


ConvBlock = Annotated[list[Annotated[int, Field(gt=0, le=1024)]], Field(min_length=2, max_length=2)]
_MAX_PARAMETERS = 50_000_000


class CNNSpec(Strict):
    """A configurable CNN on 28×28 input: conv blocks (conv → [batch norm] → activation, size
    kept by padding; 2×2 pooling after each), then [dropout], dense layers, one logit per class.
    Every conv block (``conv1`` …) and dense layer (``fc1`` …) is an analysis layer."""

    name: ModelName
    type: Literal["cnn"]
    conv: list[ConvBlock] = Field(default_factory=lambda: [[32, 3], [64, 3]], min_length=1)
    """``[channels, kernel size]`` of each conv block; at most 4 (28 px halve to 1 px)."""
    pool: Literal["max", "avg"] = "max"
    batchnorm: bool = False
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    dense: list[Annotated[int, Field(gt=0, le=65_536)]] = Field(default_factory=lambda: [128])
    activation: Literal["relu", "tanh"] = "relu"

    @property
    def conv_layers(self) -> list[str]:
        """The conv blocks (Grad-CAM and DeconvNet layers)."""
        return [f"conv{i}" for i in range(1, len(self.conv) + 1)]

    @model_validator(mode="after")
    def _fits_28_pixels(self) -> CNNSpec:
        if len(self.conv) > 4:
            raise ValueError(
                f"models: {self.name!r} has {len(self.conv)} conv blocks — at most 4 fit a "
                "28×28 digit (each halves its size)"
            )
        if any(kernel > 28 for _, kernel in self.conv):
            raise ValueError(f"models: {self.name!r} has a kernel wider than the 28×28 input")
        if self.parameters() > _MAX_PARAMETERS:
            raise ValueError(
                f"models: {self.name!r} would have {self.parameters():,} parameters — at most "
                f"{_MAX_PARAMETERS:,} train here; use fewer channels or narrower dense layers"
            )
        return self

    def parameters(self, n_classes: int = 10) -> int:
        """Its number of weights (an upper bound: ``n_classes`` outputs)."""
        total, channels, side = 0, 1, 28
        for out, kernel in self.conv:
            total += out * (channels * kernel * kernel + 1) + (2 * out if self.batchnorm else 0)
            channels, side = out, side // 2
        widths = [channels * side * side, *self.dense, n_classes]
        return total + sum(a * b + b for a, b in zip(widths, widths[1:], strict=False))


register(ModelType("mlp", MLPSpec, "pathways.models:MLP", "flat"))
register(ModelType("lenet5", LeNet5Spec, "pathways.models:LeNet5", "image32", explanations=True))
register(ModelType("cnn", CNNSpec, "pathways.models:CNN", "image28", explanations=True))
