"""Capture the outputs of named layers of any ``torch.nn.Module`` over a data loader.

Hooks live only inside :func:`recording` (a context manager that removes them in ``finally``,
also when the forward pass raises). Each hook copies its layer's output the moment the layer
returns — detached, on the CPU — so a later in-place operation (``ReLU(inplace=True)``) cannot
change what was recorded. A module called more than once per forward pass (one ReLU reused)
is recorded once per call, under ``"name#0"``, ``"name#1"``, …. A requested layer that never
ran is an error. The result holds numpy arrays only, never a reference to the model.

Example
-------
>>> import torch
>>> from torch import nn
>>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
>>> batches = [torch.ones(5, 4), torch.zeros(2, 4)]
>>> result = capture_activations(model, batches, ["1"])
>>> result.activations["1"].shape, result.outputs.shape
((7, 3), (7, 2))
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from pathways.errors import PathwaysError

Reducer = Callable[[Tensor], dict[str, Tensor]]
"""Turns one layer output into named tensors to keep; "" names the output itself."""


def keep_output(output: Tensor) -> dict[str, Tensor]:
    """Keep the layer output as it is."""
    return {"": output}


def channel_stats(output: Tensor) -> dict[str, Tensor]:
    """Per-channel spatial mean and max of a feature map float[n, channels, h, w]."""
    flat = output.flatten(2)
    return {"mean": flat.mean(-1), "max": flat.amax(-1)}


def channel_stats_and_maps(output: Tensor) -> dict[str, Tensor]:
    """Per-channel spatial mean and max, plus the full feature maps."""
    return {**channel_stats(output), "": output}


def output_key(layer: str, call: int, n_calls: int, part: str = "") -> str:
    """The key a recorded tensor is stored under: ``layer[#call][:part]`` (``#call`` only for
    a module that runs more than once per forward pass)."""
    key = f"{layer}#{call}" if n_calls > 1 else layer
    return f"{key}:{part}" if part else key


def split_key(key: str) -> tuple[str, int | None]:
    """A layer key's module and call: ``"relu#1"`` → ("relu", 1); ``"fc1"`` → ("fc1", None)."""
    module, _, call = key.partition("#")
    return module, (int(call) if call else None)


def by_rank(feature_maps: bool = False) -> Reducer:
    """A reducer for any layer: [n, units] kept as it is, [n, channels, …] as per-channel mean
    and max (and the full maps, with ``feature_maps``)."""
    spatial = channel_stats_and_maps if feature_maps else channel_stats

    def reduce(output: Tensor) -> dict[str, Tensor]:
        return spatial(output) if output.ndim >= 3 else keep_output(output)

    return reduce


def layer_reducers(layers: Iterable[str], feature_maps: bool = False) -> dict[str, Reducer]:
    """The modules to hook for the layer keys ``layers`` (``relu#1`` hooks ``relu``)."""
    return {split_key(key)[0]: by_rank(feature_maps) for key in layers}


def of_layers(recorded: Mapping[str, np.ndarray], layers: Iterable[str]) -> dict[str, np.ndarray]:
    """What was recorded for the layer keys ``layers`` only (other calls of their modules
    dropped)."""
    wanted = set(layers)
    return {k: v for k, v in recorded.items() if k.partition(":")[0] in wanted}


class Recorder:
    """Collects, per layer and call, detached CPU copies of what the reducers keep."""

    def __init__(self, reducers: Mapping[str, Reducer], n_samples: int | None = None) -> None:
        self._reducers = dict(reducers)
        self._n_samples = n_samples
        self._buffers: dict[tuple[str, int, str], np.ndarray] = {}
        self._filled: dict[tuple[str, int, str], int] = defaultdict(int)
        self._calls: dict[str, int] = defaultdict(int)
        self._calls_per_forward: dict[str, int] = {}
        self._chunks: dict[tuple[str, int, str], list[np.ndarray]] = defaultdict(list)
        self.n_forwards = 0

    def start_forward(self, *_: Any) -> None:
        self._end_forward()
        self._calls.clear()
        self.n_forwards += 1

    def _end_forward(self) -> None:
        if self.n_forwards == 0:
            return
        for layer in self._reducers:
            calls = self._calls.get(layer, 0)
            seen = self._calls_per_forward.setdefault(layer, calls)
            if calls != seen:
                raise PathwaysError(
                    f"layer {layer!r} ran {calls} times in one forward pass but {seen} times in "
                    "another — capture a module that runs the same number of times per batch"
                )

    def hook(self, layer: str) -> Callable[[nn.Module, Any, Any], None]:
        reducer = self._reducers[layer]

        def on_output(_module: nn.Module, _inputs: Any, output: Any) -> None:
            if not isinstance(output, Tensor):
                raise PathwaysError(
                    f"layer {layer!r} returns {type(output).__name__}, not a tensor — capture a "
                    "submodule whose output is a single tensor"
                )
            call = self._calls[layer]
            self._calls[layer] = call + 1
            with torch.no_grad():
                for part, tensor in reducer(output.detach()).items():
                    # Copy now: an in-place op after this layer must not change the record.
                    self._keep((layer, call, part), tensor)

        return on_output

    def _keep(self, key: tuple[str, int, str], tensor: Tensor) -> None:
        if self._n_samples is None:
            self._chunks[key].append(tensor.to("cpu", copy=True).numpy())
            return
        values = tensor.cpu().numpy()
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = np.empty(
                (self._n_samples, *values.shape[1:]), values.dtype
            )
        start = self._filled[key]
        if start + len(values) > len(buffer):
            raise PathwaysError(
                f"the loader yielded more than n_samples={self._n_samples} samples — pass the "
                "true sample count or leave n_samples out"
            )
        buffer[start : start + len(values)] = values
        self._filled[key] = start + len(values)

    def drain(self) -> dict[str, np.ndarray]:
        """What was recorded since the last drain (chunked mode), and forget it: for streaming
        capture, one batch at a time."""
        result = self.finish()
        self._chunks.clear()
        return result

    def finish(self) -> dict[str, np.ndarray]:
        """All recorded arrays, concatenated over batches, keyed as :func:`output_key` says."""
        self._end_forward()
        never = [layer for layer in self._reducers if self._calls_per_forward.get(layer, 0) == 0]
        if never:
            raise PathwaysError(
                f"layer {never[0]!r} never ran during the forward pass — it is not on the "
                "model's forward path; pick a module that runs (see model.named_modules())"
            )
        result: dict[str, np.ndarray] = {}
        for (layer, call, part), chunks in self._chunks.items():
            key = output_key(layer, call, self._calls_per_forward[layer], part)
            result[key] = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        for (layer, call, part), buffer in self._buffers.items():
            key = output_key(layer, call, self._calls_per_forward[layer], part)
            result[key] = buffer[: self._filled[(layer, call, part)]]
        return result


@contextmanager
def recording(
    model: nn.Module, layers: Sequence[str] | Mapping[str, Reducer], n_samples: int | None = None
) -> Iterator[Recorder]:
    """Register capture hooks on ``layers`` of ``model`` for the duration of the block.

    ``layers`` is a list of module names (as in ``model.named_modules()``), or a mapping from
    module name to a :data:`Reducer`. All hooks are removed on exit, also after an exception.
    With ``n_samples``, outputs are copied straight into preallocated arrays (one copy less).
    """
    reducers = dict(layers) if isinstance(layers, Mapping) else dict.fromkeys(layers, keep_output)
    if not reducers:
        raise PathwaysError("no layers to capture — name at least one module of the model")
    modules = dict(model.named_modules())
    unknown = [name for name in reducers if name not in modules or name == ""]
    if unknown:
        known = ", ".join(n for n in modules if n) or "(none)"
        raise PathwaysError(
            f"layer {unknown[0]!r} is not a module of the model — choose from: {known}"
        )
    recorder = Recorder(reducers, n_samples)
    handles = []
    try:
        handles.append(model.register_forward_pre_hook(recorder.start_forward))
        for name in reducers:
            handles.append(modules[name].register_forward_hook(recorder.hook(name)))
        yield recorder
    finally:
        for handle in handles:
            handle.remove()


def stream_activations(
    model: nn.Module,
    loader: Iterable[Any],
    layers: Sequence[str] | Mapping[str, Reducer],
    *,
    device: str | torch.device | None = None,
) -> Iterator[tuple[dict[str, np.ndarray], np.ndarray]]:
    """Like :func:`capture_activations`, but yields ``(activations, outputs)`` batch by batch,
    so that memory holds one batch whatever the number of samples. Hooks stay registered while
    the generator runs and are removed when it ends or is closed."""
    if device is None:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    n_batches = 0
    try:
        with recording(model, layers) as recorder, torch.inference_mode():
            for batch in loader:
                x, _ = _batch_input(batch)
                out = model(x.to(device, non_blocking=True))
                outputs = out.detach().to("cpu", copy=True).numpy()
                n_batches += 1
                yield recorder.drain(), outputs
            if n_batches == 0:
                raise PathwaysError("the data loader yielded no batches — nothing to capture")
    finally:
        model.train(was_training)


@dataclass
class CaptureResult:
    """What :func:`capture_activations` recorded: arrays only.

    Attributes
    ----------
    activations : dict of layer key → float32[n_samples, ...]
    outputs : float32[n_samples, n_outputs], the model's output (logits for classifiers)
    targets : the second element of each batch concatenated, when batches are (input, target)
    """

    activations: dict[str, np.ndarray]
    outputs: np.ndarray
    targets: np.ndarray | None = None
    n_batches: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _batch_input(batch: Any) -> tuple[Tensor, Any]:
    if isinstance(batch, Tensor):
        return batch, None
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], Tensor):
        return batch[0], (batch[1] if len(batch) > 1 else None)
    raise PathwaysError(
        f"a batch of type {type(batch).__name__} — the loader must yield tensors or "
        "(input, target) pairs"
    )


def capture_activations(
    model: nn.Module,
    loader: Iterable[Any],
    layers: Sequence[str] | Mapping[str, Reducer],
    *,
    device: str | torch.device | None = None,
    on_batch: Callable[[int], None] | None = None,
    n_samples: int | None = None,
) -> CaptureResult:
    """Run ``model`` over every batch of ``loader`` and record the named layers' outputs.

    Parameters
    ----------
    model : any module; it is put in eval mode for the pass and restored afterwards.
    loader : yields input tensors or (input, target, ...) tuples, e.g. a DataLoader.
    layers : module names, or a mapping name → reducer (see :func:`channel_stats`).
    device : where to run; default: where the model's parameters are.
    on_batch : called with the batch size after every batch (for progress bars).
    n_samples : the number of samples the loader yields, when known (default: ``len(dataset)``
        of a DataLoader); lets capture write into preallocated arrays.
    """
    if n_samples is None and isinstance(getattr(loader, "dataset", None), Sized):
        n_samples = len(loader.dataset)  # type: ignore[attr-defined]
    if device is None:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    outputs, targets, n_batches = [], [], 0
    try:
        with recording(model, layers, n_samples) as recorder, torch.inference_mode():
            for batch in loader:
                x, y = _batch_input(batch)
                out = model(x.to(device, non_blocking=True))
                outputs.append(out.detach().to("cpu", copy=True).numpy())
                if y is not None:
                    targets.append(np.asarray(y.cpu() if isinstance(y, Tensor) else y))
                n_batches += 1
                if on_batch is not None:
                    on_batch(len(x))
            if n_batches == 0:
                raise PathwaysError("the data loader yielded no batches — nothing to capture")
            activations = recorder.finish()
    finally:
        model.train(was_training)
    return CaptureResult(
        activations=activations,
        outputs=np.concatenate(outputs),
        targets=np.concatenate(targets) if targets else None,
        n_batches=n_batches,
    )
