"""Wiring an experiment to its pipeline steps: data → train/MODEL → capture/MODEL.

This is the only module that knows both the experiment config and the stage functions; it does
not import torch (the runner imports :mod:`pathways.stages` when a step has to run).

Example
-------
>>> from pathways.config import default_experiment
>>> [step.id for step in build_plan(default_experiment())]
['data', 'train/mlp', 'capture/mlp', 'train/lenet5', 'capture/lenet5']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pathways.config import Experiment
from pathways.data.idx import PARTS
from pathways.runner import Runner, Stage, Step

STAGES = {
    "data": Stage("data", 1, "pathways.stages:data_stage"),
    "train": Stage("train", 1, "pathways.stages:train_stage"),
    "capture": Stage("capture", 1, "pathways.stages:capture_stage"),
}
STAGE_ORDER = list(STAGES)


def _source_fingerprint(experiment: Experiment) -> list[list[Any]]:
    """Name, size and modification time of the IDX files, so that new files re-run the data step."""
    if experiment.data.source != "idx":
        return []
    folder = Path(experiment.data.path)
    found = []
    for stems in PARTS:
        for stem in stems:
            for name in (stem, stem + ".gz"):
                path = folder / name
                if path.is_file():
                    stat = path.stat()
                    found.append([name, stat.st_size, stat.st_mtime_ns])
    return found


def build_plan(
    experiment: Experiment, data_dir: str | Path = "data", device: str = "cpu"
) -> list[Step]:
    """The steps of an experiment, upstream first."""
    data = experiment.data
    plan = [
        Step(
            "data",
            STAGES["data"],
            params={
                "source": data.source,
                "path": str(Path(data.path).resolve()) if data.source == "idx" else "",
                "fingerprint": _source_fingerprint(experiment),
                "trained_classes": sorted(experiment.trained_classes),
                "unseen_classes": sorted(experiment.unseen_classes),
                "samples_per_class": data.samples_per_class,
                "test_fraction": data.test_fraction,
                "split_seed": data.split_seed,
            },
            options={"cache_dir": str(Path(data_dir) / "cache")},
        )
    ]
    for model in experiment.models:
        plan.append(
            Step(
                f"train/{model.name}",
                STAGES["train"],
                params={
                    "model": model.model_dump(mode="json"),
                    "training": experiment.training.model_dump(mode="json"),
                    "trained_classes": sorted(experiment.trained_classes),
                },
                upstream={"data": "data"},
                options={"device": device},
            )
        )
        plan.append(
            Step(
                f"capture/{model.name}",
                STAGES["capture"],
                params={"capture": experiment.capture.model_dump(mode="json")},
                upstream={"data": "data", "train": f"train/{model.name}"},
                options={"device": device},
            )
        )
    return plan


def runner_for(experiment: Experiment, store: str | Path) -> Runner:
    """A runner over ``store/<experiment name>`` that records the experiment as provenance."""
    return Runner(
        Path(store) / experiment.name,
        provenance={
            "experiment": experiment.model_dump(mode="json"),
            "stage_versions": {name: stage.version for name, stage in STAGES.items()},
        },
    )
