"""Every stage of the pipeline, declared once: name, version, function, inputs, options.

A stage's *parameters* are not listed here: they are the keyword-only arguments of its function
(read from the function's source without importing it, so planning imports neither torch nor
scikit-learn). :mod:`pathways.stages.plan` builds the plan from this registry and the experiment:
each parameter takes the experiment's value of that name, and a parameter the experiment does
not define is an error when the plan is built, not in the middle of a run.

Adding a stage: write its function (named inputs, typed keyword-only parameters, ``progress``)
and add one entry below with the outputs it returns (the runner refuses others; a test checks
that every downstream stage reads only declared outputs); bump ``version`` whenever its code
changes its results.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pathways.engine.steps import Stage
from pathways.registry import Registry

PER = ("experiment", "model")
SECTIONS = ("data", "analysis", "explain", "interventions", "strategies")
CONDITIONS = ("several_seeds", "snapshots")


@dataclass(frozen=True)
class StageEntry:
    """A stage and how the plan applies it.

    ``per``: once per experiment, or once per model. ``section``: the experiment section whose
    settings its parameters may take (``analysis``, ``explain``, ``data``), besides the values
    every step may take (see :mod:`pathways.stages.plan`). ``sources``: a parameter that takes the
    value of another name (``{"model": "model_name"}``). ``reads_models``: for a per-experiment
    stage, the stages of every model it reads (by step id). ``per_seed``: repeated for each
    extra training seed. ``only_if``: ``several_seeds`` (``analysis.stability_seeds`` > 1 and a model that is
    trained here, not loaded from a checkpoint; the stage then reads the last per-seed stage's
    output of every seed: the captures) or ``snapshots`` (``training.snapshots`` lists epochs
    and the model is trained here). A value outside these is an error when the registry is built.
    """

    stage: Stage
    per: str = "model"
    section: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    reads_models: tuple[str, ...] = ()
    per_seed: bool = False
    only_if: str | None = None

    def __post_init__(self) -> None:
        name = self.stage.name
        if self.per not in PER:
            raise ValueError(f"stage {name}: per={self.per!r} — use one of {PER}")
        if self.section is not None and self.section not in SECTIONS:
            raise ValueError(f"stage {name}: section={self.section!r} — use one of {SECTIONS}")
        if self.only_if is not None and self.only_if not in CONDITIONS:
            raise ValueError(f"stage {name}: only_if={self.only_if!r} — use one of {CONDITIONS}")
        if self.reads_models and self.per != "experiment":
            raise ValueError(f"stage {name}: reads_models is for per-experiment stages")


def _entry(
    name: str,
    version: int,
    func: str,
    inputs: tuple[str, ...] = (),
    *,
    options: tuple[str, ...] = (),
    keyed_on: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
    may_output: tuple[str, ...] = (),
    deferred: bool = False,
    sources: Mapping[str, str] | None = None,
    **how: Any,
) -> StageEntry:
    """One registry entry; ``how``: the :class:`StageEntry` fields after ``sources``."""
    stage = Stage(name, version, func, inputs, options, keyed_on, outputs, may_output, deferred)
    return StageEntry(stage, sources=dict(sources or {}), **how)


_CLASSES = ("trained_classes", "unseen_classes")
_ANALYSIS = "pathways.stages.analysis"
_EXPLAIN = "pathways.stages.explain"

# In plan order: per-experiment stages that read no model come first, then each model's steps in
# this order (the extra training seeds' per_seed steps just before the stage that reads them),
# then the per-experiment stages that read every model.
STAGES: Registry[StageEntry] = Registry("stage")
for _e in [
    _entry(  # 2: image shapes, class names, normalisation
        "data",
        2,
        "pathways.stages.samples:data_stage",
        outputs=("samples",),
        options=("cache_dir", "data_location"),
        keyed_on=("path", "fingerprint"),
        per="experiment",
        section="data",
    ),
    _entry(  # 3: any image shape, a user's network, checkpoints
        "train",
        3,
        "pathways.stages.training:train_stage",
        ("data",),
        outputs=("weights.pt", "model", "history", "per_class", "confusion"),
        may_output=("snapshots.pt",),
        options=("device", "experiment_dir"),
        keyed_on=("model_fingerprint",),
        per_seed=True,
    ),
    _entry(
        "capture",
        3,  # class_name column; any layer key (relu#1), rank-adaptive reducers
        "pathways.stages.capture:capture_stage",
        ("data", "train"),
        outputs=("activations",),
        may_output=("feature_maps",),
        options=("device", "shard_samples", "scratch"),
        per_seed=True,
    ),
    _entry(
        "signatures",
        1,
        f"{_ANALYSIS}:signatures_stage",
        ("capture",),
        section="analysis",
        outputs=("signatures", "differences", "difference_summary"),
    ),
    _entry(
        "clusters",
        1,
        f"{_ANALYSIS}:clusters_stage",
        ("capture",),
        outputs=("assignments", "cluster_summary", "composition", "unit_groups"),
        keyed_on=_CLASSES,
        section="analysis",
    ),
    _entry(
        "embedding",
        4,  # 3: analysis.embedding_method; UMAP on 50 principal components, PCA init,
        # 100 epochs from 10,000 samples; map_quality; 4: analysis.map_layers
        "pathways.stages.maps:embedding_stage",
        ("capture",),
        outputs=("embedding", "map_quality"),
        keyed_on=_CLASSES,
        deferred=True,  # the report reads no map: the answers first, the maps follow
        section="analysis",
    ),
    _entry(
        "paths",
        1,
        f"{_ANALYSIS}:paths_stage",
        ("capture", "clusters"),
        outputs=(
            "sample_paths",
            "transitions",
            "distribution",
            "class_purity",
            "path_purity",
            "unseen_flow",
        ),
        keyed_on=("trained_classes",),
        section="analysis",
    ),
    _entry(
        "divergence",
        1,
        f"{_ANALYSIS}:divergence_stage",
        ("capture", "data", "clusters"),
        outputs=("divergence", "divergence_layer"),
        keyed_on=("unseen_classes",),
        section="analysis",
    ),
    _entry(
        "novelty",
        5,  # 3: per unseen class, bootstrap intervals, differences; 4: float64 scores; 5: decisions, reasons
        "pathways.stages.novelty:novelty_stage",
        ("capture", "clusters", "paths"),
        outputs=(
            "scores",
            "metrics",
            "metrics_by_class",
            "differences",
            "signature_affinity",
            "pvalues",
            "flags",
            "decisions",
            "reasons",
        ),
        keyed_on=("trained_classes",),
        section="analysis",
    ),
    _entry(
        "interventions",
        3,  # 2: interventions.max_layers; 3: budget, pairings and random draws shared out
        "pathways.stages.interventions:interventions_stage",
        ("data", "train", "signatures", "clusters", "divergence"),
        outputs=(
            "ablation",
            "ablation_contrasts",
            "ablation_summary",
            "patching",
            "patching_summary",
            "routes",
            "route_summary",
            "settings",
        ),
        section="interventions",
    ),
    _entry(
        "dataset",
        1,
        "pathways.stages.dataset:dataset_stage",
        ("capture",),
        outputs=("activations",),
        sources={"model": "model_name"},
    ),
    _entry(
        "rotation",
        2,
        f"{_EXPLAIN}:rotation_stage",
        ("data", "train"),
        section="explain",
        outputs=("curves", "drift", "drift_layers"),
    ),
    _entry(
        "explain",
        3,  # 2: every model: pixel space, Integrated Gradients, method notes; 3: cluster members
        # drawn from one pool shared by the layers
        f"{_EXPLAIN}:explain_stage",
        ("data", "train", "clusters"),
        outputs=(
            "explained",
            "clusters",
            "cluster_members",
            "images",
            "occlusion_predicted",
            "occlusion_true",
            "integrated_gradients",
            "gradcam",
            "deconv",
            "cluster_image",
            "cluster_occlusion",
            "cluster_integrated_gradients",
            "cluster_gradcam",
            "settings",
        ),
        may_output=("maps_*",),
        section="explain",
    ),
    _entry(
        "strategies",
        1,
        "pathways.stages.strategies:strategies_stage",
        ("data", "train", "paths"),
        outputs=(
            "classes",
            "strategies",
            "members",
            "crosstab",
            "eigenvalues",
            "maps",
            "mean_maps",
            "settings",
        ),
        section="strategies",
    ),
    _entry(
        "dynamics",
        1,
        "pathways.stages.dynamics:dynamics_stage",
        ("data", "train"),
        outputs=(
            "pairs",
            "layers",
            "divergence",
            "affinity",
            "predictions",
            "novelty",
            "embedding",
            "samples",
            "activations",
        ),
        options=("device",),
        section="analysis",
        only_if="snapshots",
    ),
    _entry(
        "stability",
        1,
        f"{_ANALYSIS}:stability_stage",
        outputs=(
            "cluster_agreement",
            "divergence_agreement",
            "divergence_by_seed",
            "dominant_path_agreement",
            "path_agreement",
        ),
        keyed_on=("unseen_classes",),
        section="analysis",
        only_if="several_seeds",
    ),
    _entry(
        "report",
        11,  # 5: class names, checkpoint models; 6: how rare the unseen paths are; 7: dynamics;
        # 8: pairs in trained_classes order, dead units (clusters), the trail's most_in;
        # 9: the checks by intervention under each question; 10: novelty flags and reasons;
        # 11: strategies
        "pathways.stages.report:report_stage",
        outputs=("report", "report.md"),
        per="experiment",
        reads_models=(
            "train",
            "capture",
            "signatures",
            "clusters",
            "paths",
            "divergence",
            "novelty",
            "interventions",
            "strategies",
            "stability",
            "dynamics",
        ),
    ),
]:
    STAGES.add(_e.stage.name, _e)


@functools.cache
def stage_parameters(stage: Stage) -> tuple[str, ...]:
    """The parameter names of ``stage``: its function's keyword-only arguments, less its
    options and ``progress``. Read from the source (``ast``) for a ``"module:function"``
    stage, so its module is not imported."""
    if callable(stage.func):
        names = [
            p.name
            for p in inspect.signature(stage.func).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]
    else:
        module, _, name = stage.func.partition(":")
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise ValueError(f"stage {stage.name}: no module {module}")
        names = [arg.arg for arg in _signature(Path(spec.origin), name).args.kwonlyargs]
    return tuple(n for n in names if n != "progress" and n not in stage.options)


def _signature(source: Path, name: str) -> ast.FunctionDef:
    """The ``def`` of top-level function ``name`` in ``source``: only its signature is parsed
    (parsing whole modules cost ~50 ms per plan)."""
    lines = source.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"def {name}(")), None)
    if start is None:
        raise ValueError(f"no function {name} in {source}")
    for end in range(start, len(lines)):
        if not lines[end].rstrip().endswith(":"):
            continue
        try:  # the first line ending in ":" that closes a valid ``def … :``
            tree = ast.parse("\n".join([*lines[start : end + 1], "    pass"]))
        except SyntaxError:
            continue
        return tree.body[0]  # type: ignore[return-value]
    raise ValueError(f"cannot read the signature of {name} in {source}")
