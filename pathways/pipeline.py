"""An experiment's plan, derived from the stage registry: data → train/MODEL → capture/MODEL → …

The only module that knows both the experiment config and the stages; it imports neither torch
nor the stage functions (:mod:`pathways.stage_registry` reads their parameters from source).

Each step's parameters are the values, named as its function's keyword-only arguments, that
the experiment gives: ``trained_classes``, ``unseen_classes``, ``models`` (their names), per
model ``model`` (its spec), ``model_name``, ``training`` (with the step's seed) and ``capture``,
and the settings of the stage's section (``data``, ``analysis`` — with ``scores``, the
registered novelty scores and their versions — or ``explain``). A name the
experiment does not define is an error here, when the plan is built.

Example
-------
>>> from pathways.config import default_experiment
>>> [step.id for step in build_plan(default_experiment())][:9]
['data', 'train/mlp', 'capture/mlp', 'signatures/mlp', 'clusters/mlp', 'embedding/mlp', 'paths/mlp', 'divergence/mlp', 'novelty/mlp']
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pathways.analysis.novelty_scores import score_versions
from pathways.config import Experiment
from pathways.data.idx import PARTS
from pathways.data.sources import source_folder
from pathways.errors import ConfigError
from pathways.execution import Runner
from pathways.model_types import model_type
from pathways.planning import Step, step_id
from pathways.stage_registry import REPORT_INPUTS, STAGES, StageEntry, stage_parameters


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


def _step(
    entry: StageEntry,
    values: Mapping[str, Any],
    upstream: Mapping[str, str],
    options: Mapping[str, Any],
    model: str | None = None,
    seed: int | None = None,
) -> Step:
    """A step of ``entry``'s stage whose parameters are taken from ``values`` by name."""
    stage = entry.stage
    params = {}
    for name in (*stage_parameters(stage), *stage.keyed_on):
        source = entry.sources.get(name, name)
        if source not in values:
            raise ConfigError(
                f"stage {stage.name} asks for parameter {name!r}, which the experiment does not "
                f"define — known: {', '.join(sorted(values))}"
            )
        params[name] = values[source]
    wanted = {k: v for k, v in options.items() if k in stage.options and k != "scratch"}
    return Step(step_id(stage.name, model, seed), stage, params, dict(upstream), wanted)


def _upstream(entry: StageEntry, model: str, seed: int | None = None) -> dict[str, str]:
    """Each input of a per-model stage is the step of the stage of that name (the experiment's
    own, or this model's, at this seed for train and capture)."""
    return {
        name: name
        if STAGES[name].per == "experiment"
        else step_id(name, model, seed if name in ("train", "capture") else None)
        for name in entry.stage.inputs
    }


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
    shared = {
        "trained_classes": sorted(experiment.trained_classes),
        "unseen_classes": sorted(experiment.unseen_classes),
        "models": [m.name for m in experiment.models],
    }
    sections = {
        "data": {
            **data.model_dump(mode="json"),
            "path": str(folder.resolve()) if folder is not None else "",
            "fingerprint": _source_fingerprint(folder),
        },
        "analysis": {**experiment.analysis.model_dump(mode="json"), "scores": score_versions()},
        "explain": experiment.explain.model_dump(mode="json"),
    }
    options = {
        "device": device,
        "shard_samples": shard_samples,
        "cache_dir": str(Path(data_dir) / "cache"),
    }

    def values(entry: StageEntry, **more: Any) -> dict[str, Any]:
        return {**shared, **sections.get(entry.section or "", {}), **more}

    plan = [_step(STAGES["data"], values(STAGES["data"]), {}, options)]
    for spec in experiment.models:
        plan += _model_steps(experiment, spec.name, values, options)
    report = STAGES["report"]
    inputs = [
        s for s in REPORT_INPUTS if s != "stability" or experiment.analysis.stability_seeds > 1
    ]
    upstream = {step_id(s, m.name): step_id(s, m.name) for m in experiment.models for s in inputs}
    plan.append(_step(report, values(report), upstream, options))
    return plan


def _model_steps(
    experiment: Experiment, name: str, values: Any, options: Mapping[str, Any]
) -> list[Step]:
    """The steps of one model, in registry order; the extra training seeds' train and capture
    steps just before its stability step."""
    spec = experiment.model(name)
    training = experiment.training.model_dump(mode="json")
    per_model = {
        "model": spec.model_dump(mode="json"),
        "model_name": name,
        "capture": experiment.capture.model_dump(mode="json"),
    }

    def step(entry: StageEntry, seed: int | None = None, **more: Any) -> Step:
        seeded = {**training, "seed": experiment.training.seed if seed is None else seed}
        given = values(entry, **per_model, training=seeded, **more)
        return _step(entry, given, _upstream(entry, name, seed), options, name, seed)

    steps = []
    for entry in STAGES.values():
        if entry.per != "model":
            continue
        stage = entry.stage.name
        if stage == "explain" and not model_type(spec.type).explanations:
            continue
        if stage == "stability":
            n_seeds = experiment.analysis.stability_seeds
            if n_seeds < 2:
                continue
            seeds = [experiment.training.seed + i for i in range(n_seeds)]
            upstream = {"capture": step_id("capture", name)}
            for seed in seeds[1:]:
                steps += [step(STAGES["train"], seed), step(STAGES["capture"], seed)]
                upstream[f"capture@seed{seed}"] = step_id("capture", name, seed)
            stability = step(entry, seeds=seeds, inputs=list(upstream))
            steps.append(Step(stability.id, stability.stage, stability.params, upstream))
            continue
        steps.append(step(entry))
    return steps


def runner_for(experiment: Experiment, store: str | Path) -> Runner:
    """A runner over ``store/<experiment name>`` that records the experiment as provenance."""
    return Runner(
        Path(store) / experiment.name,
        provenance={
            "experiment": experiment.model_dump(mode="json"),
            "stage_versions": {name: e.stage.version for name, e in STAGES.items()},
        },
    )
