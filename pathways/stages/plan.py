"""An experiment's plan, derived from the stage registry: data → train/MODEL → capture/MODEL → …

The only module that knows both the experiment config and the stages; it imports neither torch
nor the stage functions (:mod:`pathways.stages.registry` reads their parameters from source).

Each step's parameters are the values, named as its function's keyword-only arguments, that
the experiment gives: ``trained_classes``, ``unseen_classes``, ``models`` (their names), per
model ``model`` (its spec), ``model_name``, ``training`` (with the step's seed) and ``capture``,
and the settings of the stage's section (``data``, ``analysis`` — with ``scores``, the
registered novelty scores and their versions — or ``explain``). A name the
experiment does not define is an error here, when the plan is built.

Example
-------
>>> from pathways.experiment.config import default_experiment
>>> [step.id for step in build_plan(default_experiment())][:9]
['data', 'train/mlp', 'capture/mlp', 'signatures/mlp', 'clusters/mlp', 'embedding/mlp', 'paths/mlp', 'divergence/mlp', 'novelty/mlp']
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pathways.analysis.novelty_scores import score_versions
from pathways.data.sources import data_source, fingerprint, resolve_classes
from pathways.data.user_files import file_digest, locate, module_file, search_folders
from pathways.engine.runner import Runner
from pathways.engine.steps import Step, at_seed, step_id
from pathways.errors import ConfigError
from pathways.experiment.config import Experiment
from pathways.experiment.model_types import comes_trained
from pathways.stages.registry import STAGES, StageEntry, stage_parameters


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
    """Each input of a per-model stage is the step of the stage of that name: the
    experiment's own, or this model's (at this seed, for a per-seed stage)."""
    return {
        name: name
        if STAGES[name].per == "experiment"
        else step_id(name, model, seed if STAGES[name].per_seed else None)
        for name in entry.stage.inputs
    }


def classes_of(experiment: Experiment, location: Path | None) -> tuple[list[int], list[int]]:
    """The trained classes' integer labels in the experiment's order (output ``i`` of a
    network is ``trained_classes[i]``) and the unseen ones' sorted (names resolved by the
    source)."""
    found = []
    for field in ("trained_classes", "unseen_classes"):
        found.append(
            resolve_classes(experiment.data.source, location, field, getattr(experiment, field))
        )
    trained, unseen = found
    both = sorted(set(trained) & set(unseen))
    if both or len(set(trained)) != len(trained) or len(set(unseen)) != len(unseen):
        raise ConfigError(
            "trained_classes / unseen_classes name one class twice (by name and by label) — "
            "name each class once"
        )
    return trained, sorted(unseen)


def _model_fingerprint(spec: Any, experiment_dir: str | Path | None) -> list[str]:
    """What besides its settings makes a model: a user's network's module source and
    checkpoint content (nothing for a built-in type)."""
    if spec.type != "torch":
        return []
    module = spec.factory.partition(":")[0]
    folders = search_folders(experiment_dir)
    source = module_file(module, folders)
    if source is None:
        raise ConfigError(
            f"models: {spec.name!r}: no module {module!r} in {', '.join(map(str, folders))} or "
            f"the installed packages — put {module.replace('.', '/')}.py there"
        )
    found = [file_digest(source)]
    if spec.checkpoint is not None:
        path = locate(spec.checkpoint, experiment_dir)
        if not path.is_file():
            raise ConfigError(
                f"models: {spec.name!r}: checkpoint {spec.checkpoint!r} is not a file in "
                f"{', '.join(map(str, folders))} — give the path of a saved state_dict"
            )
        found.append(file_digest(path))
    for epoch, name in sorted(getattr(spec, "snapshot_checkpoints", {}).items()):
        path = locate(name, experiment_dir)
        if not path.is_file():
            raise ConfigError(
                f"models: {spec.name!r}: snapshot_checkpoints: epoch {epoch}'s {name!r} is not a "
                f"file in {', '.join(map(str, folders))} — give the path of a saved state_dict"
            )
        found.append(f"{epoch}:{file_digest(path)}")
    return found


def _sections(experiment: Experiment, location: Path | None) -> dict[str, dict[str, Any]]:
    """The settings each section's stages may take, by section."""
    return {
        "data": {  # keyed on the path as written and the content, not where it lies
            **experiment.data.model_dump(mode="json"),
            "fingerprint": fingerprint(location),
        },
        "analysis": {**experiment.analysis.model_dump(mode="json"), "scores": score_versions()},
        "explain": experiment.explain.model_dump(mode="json"),
        "interventions": experiment.interventions.model_dump(mode="json"),
        "strategies": experiment.strategies.model_dump(mode="json"),
    }


def build_plan(
    experiment: Experiment,
    data_dir: str | Path = "data",
    device: str = "cpu",
    shard_samples: int = 20_000,
    experiment_dir: str | Path | None = None,
) -> list[Step]:
    """The steps of an experiment, upstream first: the per-experiment stages that read no
    model, every model's steps, then the per-experiment stages that read every model.

    ``shard_samples``: on a Dask cluster, captures of more samples are split into shards of
    this size captured in parallel (a run-time option: not part of any key).
    ``experiment_dir``: the experiment file's folder, where relative data paths, checkpoints
    and a user's network modules are also looked for (after the working folder).
    """
    data = experiment.data
    location = data_source(data.source).location(data.path, Path(data_dir), experiment_dir)
    trained, unseen = classes_of(experiment, location)
    shared = {
        "trained_classes": trained,
        "unseen_classes": unseen,
        "models": [m.name for m in experiment.models],
    }
    sections = _sections(experiment, location)
    options = {
        "device": device,
        "shard_samples": shard_samples,
        "cache_dir": str(Path(data_dir) / "cache"),
        "data_location": str(location.resolve()) if location is not None else "",
        "experiment_dir": None if experiment_dir is None else str(Path(experiment_dir).resolve()),
    }

    clashes = {k for section in sections.values() for k in section} & set(shared)
    if clashes:  # a setting named like a shared value would silently replace it
        raise ValueError(f"experiment settings named like shared plan values: {sorted(clashes)}")

    def values(entry: StageEntry, **more: Any) -> dict[str, Any]:
        return {**shared, **sections.get(entry.section or "", {}), **more}

    overall = [e for e in STAGES.values() if e.per == "experiment"]
    plan = [_step(e, values(e), {}, options) for e in overall if not e.reads_models]
    for spec in experiment.models:
        plan += _model_steps(experiment, spec.name, values, options, experiment_dir)
    for entry in (e for e in overall if e.reads_models):
        steps = {s.id for s in plan}
        upstream = {
            step_id(s, m.name): step_id(s, m.name)
            for m in experiment.models
            for s in entry.reads_models
            if step_id(s, m.name) in steps
        }
        plan.append(_step(entry, values(entry), upstream, options))
    return plan


def _applies(entry: StageEntry, experiment: Experiment, spec: Any) -> bool:
    if entry.only_if == "several_seeds":  # a checkpoint cannot be re-trained at other seeds
        return experiment.analysis.stability_seeds > 1 and not comes_trained(spec)
    if entry.only_if == "snapshots":  # a checkpoint's snapshots: its snapshot_checkpoints
        if comes_trained(spec):
            return bool(getattr(spec, "snapshot_checkpoints", None))
        return bool(experiment.training.snapshots)
    return True


def _model_steps(
    experiment: Experiment,
    name: str,
    values: Any,
    options: Mapping[str, Any],
    experiment_dir: str | Path | None = None,
) -> list[Step]:
    """The steps of one model, in registry order; the extra training seeds' per-seed steps
    just before the stage that reads every seed."""
    spec = experiment.model(name)
    training = experiment.training.model_dump(mode="json")
    per_model = {
        "model": spec.model_dump(mode="json"),
        "model_name": name,
        "model_fingerprint": _model_fingerprint(spec, experiment_dir),
        "capture": experiment.capture.model_dump(mode="json"),
    }

    def step(entry: StageEntry, seed: int | None = None, **more: Any) -> Step:
        seeded = {**training, "seed": experiment.training.seed if seed is None else seed}
        if seed is not None or comes_trained(spec):  # only the experiment's own seed keeps them
            seeded["snapshots"] = []
        given = values(entry, **per_model, training=seeded, **more)
        return _step(entry, given, _upstream(entry, name, seed), options, name, seed)

    steps = []
    for entry in STAGES.values():
        if entry.per != "model" or not _applies(entry, experiment, spec):
            continue
        if entry.only_if != "several_seeds":
            steps.append(step(entry))
            continue
        seeds = [experiment.training.seed + i for i in range(experiment.analysis.stability_seeds)]
        repeated = [e for e in STAGES.values() if e.per_seed]
        upstream = {e.stage.name: step_id(e.stage.name, name) for e in repeated[-1:]}
        for seed in seeds[1:]:
            steps += [step(e, seed) for e in repeated]
            last = repeated[-1].stage.name
            upstream[at_seed(last, seed)] = step_id(last, name, seed)
        reads_seeds = step(entry, seeds=seeds, inputs=list(upstream))
        steps.append(Step(reads_seeds.id, reads_seeds.stage, reads_seeds.params, upstream))
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
