"""Intervening on one layer during the forward pass (torch): the mechanics, no statistics.

A *layer* is a capture key (``fc1``, ``conv2``, ``relu#1`` for the second call of a reused
module). An :data:`Edit` turns that layer's output for a block of rows into the output the rest
of the network sees; the hook applies it to that call only. Units are the layer's second axis:
a dense unit, or a conv channel, edited at every position.

- :func:`unit_mask` / :func:`replace_units`: ablation (units set to a value, e.g. the trained
  classes' mean) and patching (units set to another sample's activations);
- :func:`shifted`: add a vector (move a sample onto another class's route);
- :func:`layer_integrated_gradients`: each unit's Integrated Gradients attribution of a class's
  log-probability, from a baseline layer output to the sample's own.

Captum's layer methods hook a module, not one call of a reused module, so the attribution here
uses the same per-call hook as the edits (and the ablation's value as its baseline, so an
attribution says what ablating that unit alone would change, to first order).

Example
-------
>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
>>> with torch.no_grad():
...     _ = net[0].weight.copy_(torch.eye(2)); _ = net[0].bias.zero_()
...     _ = net[2].weight.copy_(torch.tensor([[1.0, 10.0]])); _ = net[2].bias.zero_()
>>> x = torch.tensor([[1.0, 1.0]])
>>> off = replace_units(unit_mask(2, torch.tensor([1])), torch.zeros(2))
>>> float(net(x).detach()[0, 0]), float(forward_edited(net, x, "1", off)[0, 0])
(11.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import Tensor, nn

from pathways.errors import PathwaysError
from pathways.nets.capture import keep_output, recording, split_key

Edit = Callable[[Tensor, slice], Tensor]
"""(the layer's output for rows ``rows`` of the whole input, rows) → the output to use."""

CHUNK_ROWS = 4096
"""Rows per forward pass: bounds memory when many edited copies of a batch run at once."""


def _module(model: nn.Module, layer: str) -> tuple[nn.Module, int | None]:
    name, call = split_key(layer)
    modules = dict(model.named_modules())
    if name not in modules or not name:
        raise PathwaysError(f"layer {layer!r} is not a module of the model — use a captured layer")
    return modules[name], call


@contextmanager
def intervening(model: nn.Module, layer: str, edit: Edit, rows: slice) -> Iterator[None]:
    """While the block runs, ``layer``'s output (call ``#k`` only, for a reused module) is
    replaced by ``edit(output, rows)``; the hooks are removed on exit."""
    module, call = _module(model, layer)
    calls = [0]

    def reset(*_: object) -> None:
        calls[0] = 0

    def on_output(_m: nn.Module, _i: object, output: Tensor) -> Tensor | None:
        index = calls[0]
        calls[0] += 1
        return edit(output, rows) if call is None or index == call else None

    handles = [model.register_forward_pre_hook(reset), module.register_forward_hook(on_output)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def forward_edited(
    model: nn.Module, x: Tensor, layer: str | None, edit: Edit | None, chunk: int = CHUNK_ROWS
) -> Tensor:
    """The logits of ``x`` with ``edit`` applied at ``layer`` (none: the plain model),
    ``chunk`` rows at a time, without gradients."""
    parts = []
    with torch.no_grad():
        for start in range(0, len(x), chunk):
            rows = slice(start, min(start + chunk, len(x)))
            if layer is None or edit is None:
                parts.append(model(x[rows]))
                continue
            with intervening(model, layer, edit, rows):
                parts.append(model(x[rows]))
    return torch.cat(parts) if parts else torch.empty(0)


def forward_copies(
    model: nn.Module, x: Tensor, layer: str, masks: Tensor, values: Tensor
) -> Tensor:
    """float[copies, rows, outputs]: the logits of ``x`` with, in copy ``i``, the units of
    ``masks[i]`` (bool[copies, units]) at ``layer`` set to ``values`` (the layer output's shape
    without rows).

    The layer's output is copied there rather than the input: what comes before the layer runs
    once, not once per copy. A network whose later part also reads something from before the
    layer (a skip connection) cannot take the extra rows; it gets copies of the input instead.
    """
    copies = len(masks)
    if len(x) >= 2:  # one row would broadcast silently against a skip connection
        try:
            return _copied_at_layer(model, x, layer, masks, values)
        except RuntimeError:
            pass
    rows = torch.repeat_interleave(masks, len(x), dim=0)
    repeated = x.repeat(copies, *([1] * (x.ndim - 1)))
    logits = forward_edited(model, repeated, layer, replace_units(rows, values))
    return logits.reshape(copies, len(x), -1)


def _copied_at_layer(
    model: nn.Module, x: Tensor, layer: str, masks: Tensor, values: Tensor
) -> Tensor:
    copies = len(masks)

    def edit(output: Tensor, rows: slice) -> Tensor:
        n = len(output)
        expanded = output.repeat(copies, *([1] * (output.ndim - 1)))
        keep = _broadcast(torch.repeat_interleave(masks, n, dim=0).to(output.device), expanded)
        return torch.where(keep, values.to(output.device, output.dtype), expanded)

    parts = []
    step = max(2, CHUNK_ROWS // copies)
    with torch.no_grad():
        for start in range(0, len(x), step):
            rows = slice(start, min(start + step, len(x)))
            if rows.stop - rows.start < 2:  # a last single row: never broadcast it
                rows = slice(rows.start - 1, rows.stop)
            with intervening(model, layer, edit, rows):
                logits = model(x[rows])
            if len(logits) != copies * (rows.stop - rows.start):
                raise RuntimeError("the layer's copies did not reach the output")
            part = logits.reshape(copies, rows.stop - rows.start, -1)
            parts.append(part if rows.start == start else part[:, 1:])
    return torch.cat(parts, dim=1)


def layer_outputs(model: nn.Module, x: Tensor, layers: list[str], chunk: int = 1024) -> dict:
    """Each of ``layers``' full output (feature maps kept) for ``x``: layer → float32 tensor."""
    modules = {split_key(layer)[0]: keep_output for layer in layers}
    kept: dict[str, list[np.ndarray]] = {layer: [] for layer in layers}
    with torch.no_grad():
        for start in range(0, len(x), chunk):
            with recording(model, modules) as recorder:
                model(x[start : start + chunk])
            found = recorder.finish()
            for layer in layers:
                kept[layer].append(found[layer])
    return {layer: torch.from_numpy(np.concatenate(parts)) for layer, parts in kept.items()}


def unit_mask(n_units: int, units: Tensor | np.ndarray, rows: int = 1) -> Tensor:
    """bool[rows, n_units]: ``units`` (indices, the same for every row, or bool[rows, n_units]
    already) marked."""
    units = torch.as_tensor(units)
    if units.dtype == torch.bool:
        return units.reshape(-1, n_units)
    mask = torch.zeros(rows, n_units, dtype=torch.bool)
    mask[:, units.long()] = True
    return mask


def _broadcast(mask: Tensor, output: Tensor) -> Tensor:
    return mask.reshape(*mask.shape, *([1] * (output.ndim - 2)))


def replace_units(mask: Tensor, values: Tensor) -> Edit:
    """Set the masked units to ``values``: one value per unit position (the layer's output
    shape without rows: ablation) or one per row (``[rows, …]``: patching from donors). A
    one-row mask applies to every row; otherwise row ``i`` of the input uses mask row ``i``."""

    def edit(output: Tensor, rows: slice) -> Tensor:
        chosen = mask if len(mask) == 1 else mask[rows]
        source = values if values.ndim < output.ndim else values[rows]
        keep = _broadcast(chosen.to(output.device), output)
        return torch.where(keep, source.to(output.device, output.dtype), output)

    return edit


def shifted(delta: Tensor) -> Edit:
    """Add ``delta`` (one per row, ``[rows, …]``) to the layer's output."""

    def edit(output: Tensor, rows: slice) -> Tensor:
        return output + delta[rows].to(output.device, output.dtype)

    return edit


def layer_integrated_gradients(
    model: nn.Module, x: Tensor, layer: str, baseline: Tensor, target: int, steps: int = 16
) -> Tensor:
    """float64[rows, units]: Integrated Gradients of the ``target`` output's margin (its logit
    minus the mean of the others; a log-probability saturates on confident samples and gives no
    gradient) with respect to ``layer``'s output, on the straight path from ``baseline`` (the
    layer output's shape without rows) to each sample's own output (midpoint rule, ``steps``
    points), summed over a channel's positions. A row sums to about the margin at x minus the
    margin with the layer at the baseline (the completeness of Integrated Gradients)."""
    total = None
    for alpha in (np.arange(steps) + 0.5) / steps:
        held: list[Tensor] = []

        def edit(
            output: Tensor, _rows: slice, alpha: float = float(alpha), held: list = held
        ) -> Tensor:
            base = baseline.to(output.device, output.dtype)
            point = (base + alpha * (output.detach() - base)).requires_grad_(True)
            held.append(point)
            return point

        with intervening(model, layer, edit, slice(0, len(x))):
            logits = model(x)
            others = torch.cat([logits[:, :target], logits[:, target + 1 :]], dim=1)
            margin = (logits[:, target] - others.mean(1)).sum()
        (gradient,) = torch.autograd.grad(margin, held[0])
        total = gradient if total is None else total + gradient
    assert total is not None
    outputs = layer_outputs(model, x, [layer])[layer]
    attribution = (outputs - baseline) * total / steps
    return attribution.flatten(2).sum(-1).double() if attribution.ndim > 2 else attribution.double()
