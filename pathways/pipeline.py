"""Wiring an experiment to its pipeline steps: data → train/MODEL → capture/MODEL.

This is the only module that knows both the experiment config and the stage functions; it does
not import torch (the runner imports :mod:`pathways.stages` when a step has to run).

Example
-------
>>> from pathways.config import default_experiment
>>> [step.id for step in build_plan(default_experiment())][:9]
['data', 'train/mlp', 'capture/mlp', 'signatures/mlp', 'clusters/mlp', 'embedding/mlp', 'paths/mlp', 'divergence/mlp', 'novelty/mlp']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pathways.config import Experiment
from pathways.data.idx import PARTS
from pathways.data.sources import source_folder
from pathways.runner import Runner, Stage, Step

STAGES = {
    "data": Stage("data", 1, "pathways.stages:data_stage"),
    "train": Stage("train", 2, "pathways.stages:train_stage"),  # 2: without oneDNN
    "capture": Stage("capture", 2, "pathways.stages:capture_stage"),
    "signatures": Stage("signatures", 1, "pathways.analysis.stages:signatures_stage"),
    "clusters": Stage("clusters", 1, "pathways.analysis.stages:clusters_stage"),
    "embedding": Stage("embedding", 2, "pathways.analysis.stages:embedding_stage"),
    "paths": Stage("paths", 1, "pathways.analysis.stages:paths_stage"),
    "divergence": Stage("divergence", 1, "pathways.analysis.stages:divergence_stage"),
    "novelty": Stage("novelty", 2, "pathways.analysis.stages:novelty_stage"),
    "stability": Stage("stability", 1, "pathways.analysis.stages:stability_stage"),
    "explain": Stage("explain", 1, "pathways.explain.stages:explain_stage"),
    "rotation": Stage("rotation", 1, "pathways.explain.stages:rotation_stage"),
    "dataset": Stage("dataset", 1, "pathways.dataset:dataset_stage"),
    "report": Stage("report", 4, "pathways.analysis.report:report_stage"),
}
_CLUSTERING = (
    "cluster_method",
    "reducer",
    "n_components",
    "min_cluster_size",
    "min_samples",
    "n_clusters",
    "seed",
)
_DIVERGENCE = ("probe_folds", "divergence_probe_fraction", "divergence_purity", "seed")
ANALYSIS_PARAMS = {
    "signatures": ("firing_threshold", "top_units", "alpha"),
    "clusters": (*_CLUSTERING, "unit_correlation"),
    "embedding": ("embedding_neighbors", "seed"),
    "paths": (),
    "divergence": _DIVERGENCE,
    "novelty": ("knn_k",),
}
STAGE_ORDER = list(STAGES)


def _source_fingerprint(folder: Path | None) -> list[list[Any]]:
    """Name, size and modification time of the IDX files, so that new files re-run the data step."""
    if folder is None:
        return []
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
    experiment: Experiment,
    data_dir: str | Path = "data",
    device: str = "cpu",
    shard_samples: int = 20_000,
) -> list[Step]:
    """The steps of an experiment, upstream first.

    ``shard_samples``: on a Dask cluster, captures of more samples are split into shards of
    this size captured in parallel (a run-time option: not part of any key).
    """
    data = experiment.data
    folder = source_folder(data.source, data.path, data_dir)
    plan = [
        Step(
            "data",
            STAGES["data"],
            params={
                "source": data.source,
                "path": str(folder.resolve()) if folder is not None else "",
                "fingerprint": _source_fingerprint(folder),
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
        plan += _model_steps(experiment, model.name, device, shard_samples)
    plan.append(
        Step(
            "report",
            STAGES["report"],
            params={"models": [m.name for m in experiment.models], **_classes(experiment)},
            upstream={
                f"{stage}/{m.name}": f"{stage}/{m.name}"
                for m in experiment.models
                for stage in (
                    "train",
                    "capture",
                    "signatures",
                    "clusters",
                    "paths",
                    "divergence",
                    "novelty",
                    "stability",
                )
                if stage != "stability" or experiment.analysis.stability_seeds > 1
            },
        )
    )
    return plan


def _classes(experiment: Experiment) -> dict[str, list[int]]:
    return {
        "trained_classes": sorted(experiment.trained_classes),
        "unseen_classes": sorted(experiment.unseen_classes),
    }


def _train_and_capture(
    experiment: Experiment, name: str, suffix: str, seed: int, device: str, shard_samples: int
) -> list[Step]:
    training = {**experiment.training.model_dump(mode="json"), "seed": seed}
    return [
        Step(
            f"train/{name}{suffix}",
            STAGES["train"],
            params={
                "model": experiment.model(name).model_dump(mode="json"),
                "training": training,
                "trained_classes": sorted(experiment.trained_classes),
            },
            upstream={"data": "data"},
            options={"device": device},
        ),
        Step(
            f"capture/{name}{suffix}",
            STAGES["capture"],
            params={"capture": experiment.capture.model_dump(mode="json")},
            upstream={"data": "data", "train": f"train/{name}{suffix}"},
            options={"device": device, "shard_samples": shard_samples},
        ),
    ]


def _model_steps(experiment: Experiment, name: str, device: str, shard_samples: int) -> list[Step]:
    """train, capture and the analysis steps of one model, plus extra seeds for stability."""
    analysis = experiment.analysis.model_dump(mode="json")
    classes = _classes(experiment)

    def params(stage: str) -> dict[str, Any]:
        return {**{k: analysis[k] for k in ANALYSIS_PARAMS[stage]}, **classes}

    capture = {"capture": f"capture/{name}"}
    steps = _train_and_capture(
        experiment, name, "", experiment.training.seed, device, shard_samples
    )
    steps += [
        Step(f"signatures/{name}", STAGES["signatures"], params("signatures"), capture),
        Step(f"clusters/{name}", STAGES["clusters"], params("clusters"), capture),
        Step(f"embedding/{name}", STAGES["embedding"], params("embedding"), capture),
        Step(
            f"paths/{name}",
            STAGES["paths"],
            params("paths"),
            {**capture, "clusters": f"clusters/{name}"},
        ),
        Step(
            f"divergence/{name}",
            STAGES["divergence"],
            params("divergence"),
            {**capture, "data": "data", "clusters": f"clusters/{name}"},
        ),
        Step(
            f"novelty/{name}",
            STAGES["novelty"],
            params("novelty"),
            {**capture, "clusters": f"clusters/{name}", "paths": f"paths/{name}"},
        ),
    ]
    steps.append(Step(f"dataset/{name}", STAGES["dataset"], {"model": name}, capture))
    explain = experiment.explain.model_dump(mode="json")
    trained = {"data": "data", "train": f"train/{name}"}
    steps.append(
        Step(
            f"rotation/{name}",
            STAGES["rotation"],
            {
                k: explain[k]
                for k in ("rotation_angles", "rotation_samples_per_class", "drift_share")
            },
            trained,
        )
    )
    if experiment.model(name).type == "lenet5":
        steps.append(
            Step(
                f"explain/{name}",
                STAGES["explain"],
                {
                    k: explain[k]
                    for k in (
                        "samples_per_class",
                        "layer",
                        "occlusion_patch",
                        "occlusion_stride",
                        "cluster_layers",
                        "members_per_cluster",
                        "seed",
                    )
                },
                {**trained, "clusters": f"clusters/{name}"},
            )
        )
    n_seeds = experiment.analysis.stability_seeds
    if n_seeds > 1:
        seeds = [experiment.training.seed + i for i in range(n_seeds)]
        upstream = {"capture": f"capture/{name}"}
        for seed in seeds[1:]:
            steps += _train_and_capture(
                experiment, name, f"@seed{seed}", seed, device, shard_samples
            )
            upstream[f"capture@seed{seed}"] = f"capture/{name}@seed{seed}"
        stability = {k: analysis[k] for k in (*_CLUSTERING, *_DIVERGENCE)}
        steps.append(
            Step(
                f"stability/{name}",
                STAGES["stability"],
                {**stability, **classes, "seeds": seeds, "inputs": list(upstream)},
                upstream,
            )
        )
    return steps


def runner_for(experiment: Experiment, store: str | Path) -> Runner:
    """A runner over ``store/<experiment name>`` that records the experiment as provenance."""
    return Runner(
        Path(store) / experiment.name,
        provenance={
            "experiment": experiment.model_dump(mode="json"),
            "stage_versions": {name: stage.version for name, stage in STAGES.items()},
        },
    )
