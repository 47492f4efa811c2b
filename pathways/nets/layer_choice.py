"""Which outputs of a network are its analysis layers, found by running it once (torch).

A layer is named by its module path (``block1``, ``head.1``), with ``#k`` for the k-th call of
a module the forward pass runs more than once (one ``ReLU`` reused: ``relu#0``, ``relu#1``). A
network that declares ``hidden_layers`` (the built-in ones) is analysed at those modules;
otherwise, unless the experiment names layers, at the output of **every activation module**
(a module from ``torch.nn``'s activation family — ReLU, GELU, Tanh, SiLU, … — except the
softmax family), each call of a reused one, in the order they run.

Each layer's *kind* comes from its output: [n, units] is ``dense`` (stored unit by unit); [n,
channels, …] with spatial axes is ``conv`` (stored as per-channel mean and max, and in full
when ``capture.feature_maps`` is set).
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from pathways.errors import ModelError
from pathways.nets.capture import output_key, split_key

_NOT_LAYERS = (nn.Softmax, nn.Softmin, nn.LogSoftmax, nn.Softmax2d, nn.MultiheadAttention)


def is_activation(module: nn.Module) -> bool:
    """A module of ``torch.nn``'s activation family, not the softmax family."""
    return type(module).__module__ == "torch.nn.modules.activation" and not isinstance(
        module, _NOT_LAYERS
    )


def _run(
    model: nn.Module, x: Tensor, modules: Sequence[str]
) -> tuple[Any, dict[str, list[Any]], list[str]]:
    """The model's output on ``x``; per module, what each call returned (shape or type); and
    the modules in the order their calls ran."""
    found = dict(model.named_modules())
    seen: dict[str, list[Any]] = defaultdict(list)
    order: list[str] = []

    def recorder(name: str) -> Any:
        def hook(_m: nn.Module, _i: Any, output: Any) -> None:
            order.append(name)
            seen[name].append(
                tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
            )

        return hook

    handles = [found[name].register_forward_hook(recorder(name)) for name in modules]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            output = model(x)
    except Exception as exc:  # a user's forward pass: any error is theirs to fix
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ModelError(
            f"the forward pass on a batch of {tuple(x.shape)} failed ({type(exc).__name__}: "
            f"{detail[:200]}) — the model must take images as channels × height × width"
        ) from None
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return output, seen, order


def spatial_layers(layers: dict[str, str]) -> list[str]:
    """The analysis layers (key → kind, as :func:`analysis_layers` gives) with spatial maps."""
    return [key for key, kind in layers.items() if kind == "conv"]


def explain_layer(description: dict[str, Any], layer: str | None = None) -> str | None:
    """The layer of Grad-CAM and the DeconvNet in a trained model's ``description``: a ``torch``
    model's ``explain_layer`` (default its last spatial layer); for a built-in model, ``layer``
    when it is one of its spatial layers (``explain.layer``), or its last spatial layer when no
    layer is asked; None for a model without spatial layers (an MLP)."""
    spatial = spatial_layers(description["hidden_layers"])
    spec = description["spec"]
    if spec["type"] == "torch":
        # the train step checked that a named explain_layer is one of them
        return spec.get("explain_layer") or (spatial[-1] if spatial else None)
    if layer is None:
        return spatial[-1] if spatial else None
    return layer if layer in spatial else None


def _unknown(name: str, modules: dict[str, nn.Module]) -> ModelError:
    names = [n for n in modules if n]
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5) or names[:8]
    return ModelError(
        f"layer {name!r} is not a module of the model — closest: {', '.join(close) or '(none)'}"
    )


def _kind(key: str, shape: Any) -> str:
    if not isinstance(shape, tuple):
        raise ModelError(
            f"layer {key!r} returns {shape}, not a tensor — name a module whose output is one tensor"
        )
    if len(shape) == 2:
        return "dense"
    if len(shape) >= 3:
        return "conv"
    raise ModelError(
        f"layer {key!r} gives a tensor of shape {shape} — name a layer whose output is "
        "[n, units] or [n, channels, height, width]"
    )


def analysis_layers(
    model: nn.Module, x: Tensor, n_classes: int, wanted: Sequence[str] | None = None
) -> dict[str, str]:
    """Layer key → kind (``dense`` or ``conv``) of ``model``'s analysis layers, from one forward
    pass on ``x``; checks that the model gives one logit per class."""
    modules = dict(model.named_modules())
    declared = getattr(model, "hidden_layers", None)
    names = list(wanted) if wanted else list(declared or [])
    for name in names:
        if split_key(name)[0] not in modules or not split_key(name)[0]:
            raise _unknown(split_key(name)[0], modules)
    hooked = (
        sorted({split_key(n)[0] for n in names})
        if names
        else [n for n, m in modules.items() if n and is_activation(m)]
    )
    output, seen, order = _run(model, x, hooked)
    if not isinstance(output, Tensor) or tuple(output.shape) != (len(x), n_classes):
        shape = tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
        raise ModelError(
            f"the model's output is {shape} for a batch of {len(x)}, expected ({len(x)}, "
            f"{n_classes}): one logit per trained class (class i = the i-th of trained_classes)"
        )
    if not names:
        # every call of every activation module, in the order they ran
        calls: dict[str, int] = defaultdict(int)
        names = []
        for module in order:
            names.append(output_key(module, calls[module], len(seen[module])))
            calls[module] += 1
        if not names:
            raise ModelError(
                "the model has no activation modules (nn.ReLU, nn.GELU, …) to analyse — name "
                "its analysis layers with layers = [...]"
            )
    layers: dict[str, str] = {}
    for name in names:
        module, call = split_key(name)
        outputs = seen.get(module, [])
        if not outputs:
            raise ModelError(
                f"layer {module!r} never ran during the forward pass — name a module on the "
                "model's forward path"
            )
        if call is None:
            keys = [(output_key(module, k, len(outputs)), k) for k in range(len(outputs))]
        elif call < len(outputs):
            keys = [(output_key(module, call, len(outputs)), call)]
        else:
            raise ModelError(
                f"layer {name!r}: {module} runs {len(outputs)} time(s) per forward pass — use "
                f"#0 … #{len(outputs) - 1}"
            )
        for key, k in keys:
            layers[key] = _kind(key, outputs[k])
    return layers
