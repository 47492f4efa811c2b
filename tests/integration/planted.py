"""A known answer for the strategies stage: real digits, a fraction of one class carrying a
small bright mark the network can learn to use ("Clever Hans")."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np

MARK = (slice(22, 26), slice(2, 6))
"""A bright 4 × 4 square in the lower-left corner of a 28 × 28 digit, where digits leave black."""


def planted_npz(digits: Any, path: Path, cls: int, fraction: float, seed: int) -> np.ndarray:
    """Write the digits of classes 1 and 7 to ``path`` (an .npz for ``source = "npz"``) with the
    mark on a seeded ``fraction`` of class ``cls``; the marked positions (``source_index``)."""
    keep = np.isin(digits.labels, [1, 7])
    images, labels = digits.images[keep].copy(), digits.labels[keep]
    mine = np.flatnonzero(labels == cls)
    marked = np.sort(
        np.random.default_rng(seed).choice(mine, size=round(fraction * len(mine)), replace=False)
    )
    images[(marked, *MARK)] = 255
    np.savez(path, images=images, labels=labels)
    return marked


def planted_experiment(path: Path, model: str, seed: int, samples: int = 200) -> Any:
    from pathways.experiment.config import parse_experiment

    kind = 'type = "mlp"\nhidden = [64, 32]' if model == "mlp" else f'type = "{model}"'
    text = f"""
name = "planted-{model}-{seed}"
trained_classes = [1, 7]
unseen_classes = []
[data]
source = "npz"
path = "{path}"
[[models]]
name = "{model}"
{kind}
[training]
epochs = 5
seed = {seed}
[analysis]
stability_seeds = 1
[strategies]
samples_per_class = {samples}
seed = {seed}
"""
    return parse_experiment(tomllib.loads(text))


def planted_run(digits: Any, folder: Path, model: str, fraction: float, seed: int) -> dict:
    """Train ``model`` on the marked digits and run its strategies; what the test reads."""
    from pathways.engine.artifacts import Artifact
    from pathways.engine.steps import step_id
    from pathways.stages.plan import build_plan, runner_for

    folder.mkdir(parents=True, exist_ok=True)
    marked = planted_npz(digits, folder / "planted.npz", 7, fraction, seed)
    experiment = planted_experiment(folder / "planted.npz", model, seed)
    runner = runner_for(experiment, folder / "store")
    runner.run(
        build_plan(experiment, data_dir=folder / "data"), only=[step_id("strategies", model)]
    )
    outputs = Artifact(runner.step_dir(step_id("strategies", model)))
    samples = Artifact(runner.step_dir("data"))
    return {
        "marked": marked,
        "strategies": outputs,
        "train": Artifact(runner.step_dir(step_id("train", model))),
        "samples": samples,
    }


def isolation(run: dict) -> dict[str, float]:
    """How well class 7's strategies isolate the marked samples: the strategy holding most of
    them, its purity (share of it marked) and recall (share of the marked in it)."""
    from pathways.data.subsets import read_samples

    samples, _ = read_samples(run["samples"].path("samples"))
    source = samples.set_index("sample_id")["source_index"]
    members = run["strategies"]["members"]
    sevens = members[members["class"] == 7]
    is_marked = np.isin(source.loc[sevens["sample_id"]].to_numpy(), run["marked"])
    strategy = sevens["strategy"].to_numpy()
    best = int(np.bincount(strategy[is_marked] + 1).argmax()) - 1
    inside = strategy == best
    return {
        "strategy": best,
        "k": int((sevens["strategy"].max()) + 1),
        "marked": int(is_marked.sum()),
        "purity": float(is_marked[inside].mean()),
        "recall": float(inside[is_marked].mean()),
    }


def mark_effect(run: dict, digits: Any) -> float:
    """How much the trained network uses the mark: the mean rise of p(7) on real 1s when the
    mark is painted on them."""
    import torch

    from pathways.nets.inputs import pixels
    from pathways.nets.trained import explainable

    description = run["train"]["model"]
    _, model, _ = explainable(description, run["train"]["weights.pt"])
    ones = digits.images[digits.labels == 1][:200]
    marked = ones.copy()
    marked[(slice(None), *MARK)] = 255
    seven = list(description["classes"]).index(7)
    with torch.no_grad():
        before = torch.softmax(model(pixels(ones)), 1)[:, seven]
        after = torch.softmax(model(pixels(marked)), 1)[:, seven]
    return float((after - before).mean())


def named_region(run: dict, strategy: int) -> str:
    """The region the report names for class 7's ``strategy``."""
    table = run["strategies"]["strategies"]
    row = table[(table["class"] == 7) & (table["strategy"] == strategy)]
    return str(row["region"].iloc[0])
