"""Every model type pathways can train, declared once: its settings, network, input, explanations.

A model type is one entry of :data:`MODEL_TYPES`: the settings block of a ``[[models]]`` table
(a pydantic class whose ``type`` field names the type), the function that builds its network
(``"module:function"``, imported only when a model is trained or loaded: no torch here), the
form its input takes (:mod:`pathways.nets.inputs`: ``flat``, ``image``, ``image28``,
``image32``) and the image shape it needs, if any. The config's ``[[models]]`` union, its error
messages and the network stages read it from here.

Adding a model type: its settings class and one entry in the ``MODEL_TYPES.add`` loop below, and its network
builder ``build(spec, n_classes, image) -> nn.Module`` (``image``: the stored images'
:class:`~pathways.data.subsets.ImageFormat`). A network may declare ``hidden_layers`` (the
modules whose outputs are its analysis layers); otherwise the output of every activation module
is (see :mod:`pathways.nets.layer_choice`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, NonNegativeInt, model_validator

from pathways.experiment.schema import ModelName, Strict
from pathways.registry import Registry


@dataclass(frozen=True)
class ModelType:
    name: str
    spec: type[Strict]
    network: str
    """``"module:function"``: ``function(spec, n_classes, image) -> nn.Module``."""
    input_kind: str
    """One of :data:`pathways.nets.inputs.INPUT_FORMS`."""
    image_shape: tuple[int, ...] | None = None
    """The stored image shape it needs ((28, 28): a grey 28×28 digit), or None for any."""

    def refuses(self, shape: tuple[int, ...]) -> str | None:
        """Why it cannot take images of ``shape`` (None: it can)."""
        if self.image_shape is None or tuple(shape) == self.image_shape:
            return None
        need = "×".join(map(str, self.image_shape))
        return (
            f"a {self.name} takes {need} grey images, these are {'×'.join(map(str, shape))} — "
            'resize them (data.image_size, data.channels = 1), or use type = "mlp" or "torch"'
        )


MODEL_TYPES: Registry[ModelType] = Registry("model type")


def model_type(name: str) -> ModelType:
    """The registered model type ``name`` (a LookupError naming the known ones otherwise)."""
    return MODEL_TYPES[name]


class MLPSpec(Strict):
    """A fully connected network: the flattened image → hidden widths → one logit per class."""

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


FACTORY = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_.]*$"
LAYER_NAME = r"^[A-Za-z0-9_.]+(#[0-9]+)?$"


class TorchSpec(Strict):
    """Any ``torch.nn.Module``: built by ``factory(**arguments)``, optionally loaded from a
    checkpoint (a state_dict) instead of trained. Its input: the image, channels × height ×
    width, scaled to [0, 1] (and normalised when ``data.normalize`` says so); its output: one
    logit per trained class, in ``trained_classes`` order."""

    name: ModelName
    type: Literal["torch"]
    factory: str = Field(pattern=FACTORY)
    """``"module:Class"`` or ``"module:function"``; the module is imported from the working
    folder or the experiment file's folder."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments for the factory."""
    checkpoint: str | None = Field(None, min_length=1)
    """A ``torch.save``'d state_dict (loaded with ``weights_only=True``): the model is not
    trained, the train step measures it on the experiment's data."""
    layers: list[Annotated[str, Field(pattern=LAYER_NAME)]] | None = Field(None, min_length=1)
    """Analysis layers by module path (``block1``, ``head.1``; ``relu#1``: the second call of a
    reused module); default: the output of every activation module, each call."""
    explain_layer: str | None = Field(None, pattern=LAYER_NAME)
    """The layer of Grad-CAM and the DeconvNet projection; default: the last analysis layer
    with spatial maps."""
    snapshot_checkpoints: dict[NonNegativeInt, Annotated[str, Field(min_length=1)]] = Field(
        default_factory=dict
    )
    """Epoch → a state_dict saved during the model's own training (``{ 0 = "init.pt", 5 =
    "epoch5.pt" }``): they stand in for ``training.snapshots`` (needs ``checkpoint``, the
    final weights)."""

    @property
    def trained_elsewhere(self) -> bool:
        return self.checkpoint is not None

    @model_validator(mode="after")
    def _snapshots_need_a_checkpoint(self) -> TorchSpec:
        if self.snapshot_checkpoints and self.checkpoint is None:
            raise ValueError(
                f"models: {self.name!r}: snapshot_checkpoints stand in for the snapshots of a "
                "model trained elsewhere — also give its final weights as checkpoint, or drop "
                "them and set training.snapshots"
            )
        return self


_BUILT_IN = "pathways.nets.models:build_network"
for _type in (
    ModelType("mlp", MLPSpec, _BUILT_IN, "flat"),
    ModelType("lenet5", LeNet5Spec, _BUILT_IN, "image32", image_shape=(28, 28)),
    ModelType("cnn", CNNSpec, _BUILT_IN, "image28", image_shape=(28, 28)),
    ModelType("torch", TorchSpec, "pathways.nets.user_models:build_user_model", "image"),
):
    MODEL_TYPES.add(_type.name, _type)


def comes_trained(spec: Any) -> bool:
    """The model is loaded from a checkpoint rather than trained (no re-training seeds)."""
    return bool(getattr(spec, "trained_elsewhere", False))
