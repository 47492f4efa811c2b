"""pathways: activation signatures and paths of classes through a neural network.

What a user imports is here; everything else is internal and may move between versions.

- **Capture** any torch model's activations: :func:`capture_activations` (with
  :func:`channel_stats` for conv layers) and the :func:`recording` context manager.
- **Read a run's outputs**: :func:`read_summary` (classes, models, layers of a run folder),
  :func:`layer_matrix` / :func:`load_layer` (one layer's activations), :func:`load_samples`
  (the sample columns), :func:`layers` (what a Parquet file holds), :func:`list_runs`.
- **Load an experiment**: :func:`load_experiment` (a ``.toml`` file or a packaged name),
  :func:`parse_text`, :func:`default_experiment`, and :class:`Experiment`.
- **Explore**: :func:`create_app` (the Dash explorer over a store).
- **Errors**: :class:`PathwaysError`, the one-line errors a user can fix.

Importing the package does no work: each name loads its module (and that module's heavy
dependencies: torch for capture, Dash for the explorer) the first time it is used.

>>> import pathways
>>> pathways.default_experiment().trained_classes
[1, 7]
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "capture_activations": "pathways.nets.capture",
    "channel_stats": "pathways.nets.capture",
    "recording": "pathways.nets.capture",
    "CaptureResult": "pathways.nets.capture",
    "read_summary": "pathways.store.summaries",
    "RunSummary": "pathways.store.summaries",
    "layer_matrix": "pathways.store.activations",
    "layers": "pathways.store.activations",
    "load_layer": "pathways.store.reading",
    "load_samples": "pathways.store.reading",
    "layer_names": "pathways.store.reading",
    "list_runs": "pathways.store.runs",
    "load_experiment": "pathways.experiment.config",
    "parse_text": "pathways.experiment.config",
    "default_experiment": "pathways.experiment.config",
    "Experiment": "pathways.experiment.config",
    "create_app": "pathways.app.factory",
    "PathwaysError": "pathways.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pathways' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
