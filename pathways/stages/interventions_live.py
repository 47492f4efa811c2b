"""Ablation on demand, for the explorer: switch off chosen units of one layer and see what changes.

The explorer never imports torch; it calls :func:`ablate_units` by name in a worker process of
its own (:mod:`pathways.app.worker`), which keeps each loaded network and its seeded samples
between calls. The samples and the ablation value are the interventions stage's: its
``samples_per_class`` seeded test samples per class, and the trained classes' mean output at
the layer (``"mean"``) or zero.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pathways.engine.artifacts import Artifact
from pathways.engine.steps import step_id
from pathways.errors import PathwaysError
from pathways.experiment.opening import InterventionsSpec
from pathways.nets.interventions import forward_edited, replace_units, unit_mask
from pathways.stages.interventions_setup import Setup, StoredModel, network_inputs, stored_model
from pathways.store.runs import run_path

_LOADED: dict[tuple[str, str, int], tuple[Setup, StoredModel]] = {}


def ablate_units(
    store: str,
    run: str,
    model: str,
    layer: str,
    units: list[int],
    classes: list[int],
    sample_id: int | None = None,
    ablation: str = "mean",
) -> dict[str, Any]:
    """What switching off ``units`` (indices; conv channels at every position) of ``layer``
    does: for each of ``classes``, the share of its seeded test samples called each trained
    class before and after; for ``sample_id``, its call and confidence before and after.
    Plain JSON-able values."""
    setup, stored = _setup(Path(store), run, model)
    if layer not in setup.layers:
        raise PathwaysError(f"layer {layer!r} is not a hidden layer of {model!r}")
    n_units = setup.units[layer]
    outside = [u for u in units if not 0 <= int(u) < n_units]
    if outside:
        raise PathwaysError(f"{layer} has units 0 to {n_units - 1}: no unit {outside[0]}")
    value = setup.baseline[layer] if ablation == "mean" else torch.zeros_like(setup.baseline[layer])
    chosen = torch.tensor(sorted({int(u) for u in units}), dtype=torch.long)
    edit = replace_units(unit_mask(n_units, chosen), value)
    rows = [_calls(setup, cls, layer, edit) for cls in classes if int(cls) in setup.inputs]
    found: dict[str, Any] = {"layer": layer, "units": chosen.tolist(), "n_units": n_units}
    found |= {"ablation": ablation, "trained": setup.classes, "classes": rows}
    if sample_id is not None:
        found["sample"] = _sample(setup, stored, int(sample_id), layer, edit)
    return found


def _calls(setup: Setup, cls: int, layer: str, edit: Any) -> dict[str, Any]:
    """The share of ``cls``'s seeded samples called each trained class, before and after."""
    x = setup.inputs[int(cls)]
    shares = {}
    for when, logits in (
        ("before", forward_edited(setup.model, x, None, None)),
        ("after", forward_edited(setup.model, x, layer, edit)),
    ):
        calls = np.bincount(logits.argmax(1).numpy(), minlength=len(setup.classes)) / len(x)
        shares[when] = {str(c): float(s) for c, s in zip(setup.classes, calls, strict=True)}
    return {"class": int(cls), "n": len(x), "trained": int(cls) in setup.classes, **shares}


def _sample(
    setup: Setup, stored: StoredModel, sample_id: int, layer: str, edit: Any
) -> dict[str, Any]:
    description, _, samples, images = stored
    if not 0 <= sample_id < len(images):
        raise PathwaysError(f"no sample {sample_id} — sample ids run from 0 to {len(images) - 1}")
    x = network_inputs(description, images[[sample_id]])
    label = int(samples.set_index("sample_id").loc[sample_id, "label"])
    found: dict[str, Any] = {"sample_id": sample_id, "label": label}
    for when, edited in (("before", None), ("after", edit)):
        probs = torch.softmax(forward_edited(setup.model, x, layer if edited else None, edited), 1)
        best = int(probs[0].argmax())
        found[when] = {"call": setup.classes[best], "confidence": float(probs[0, best])}
    return found


def _setup(store: Path, run: str, model: str) -> tuple[Setup, StoredModel]:
    """The model's setup, loaded once per version of its train step."""
    folder = run_path(store, run)
    train_folder = folder / step_id("train", model)
    manifest = train_folder / "manifest.json"
    if not manifest.is_file():
        raise PathwaysError(f"run {run!r} has no trained {model!r} — finish it with `pathways run`")
    key = (str(folder), model, manifest.stat().st_mtime_ns)
    if key not in _LOADED:
        data = Artifact(folder / "data")
        stored = stored_model(data, Artifact(train_folder))
        samples = stored[2]
        unseen = sorted(int(c) for c in samples.loc[~samples["seen"], "label"].unique())
        per_class, seed = _stage_settings(folder / step_id("interventions", model))
        setup = Setup.build(stored, list(stored[0]["classes"]), unseen, per_class, seed)
        _LOADED.clear()  # one model at a time: a worker's memory stays that of one network
        _LOADED[key] = (setup, stored)
    return _LOADED[key]


def _stage_settings(folder: Path) -> tuple[int, int]:
    """The interventions stage's samples per class and seed for this model, if it ran."""
    try:
        settings = json.loads((folder / "settings.json").read_text())
        return int(settings["samples_per_class"]), int(settings["seed"])
    except (OSError, ValueError, KeyError, TypeError):  # not run yet: the config's defaults
        defaults = InterventionsSpec()
        return defaults.samples_per_class, defaults.seed
