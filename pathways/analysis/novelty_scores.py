"""Every novelty score, declared once: name, kind (ours or baseline), function, version.

The novelty stage computes each of them (in this order) for every sample; the plan puts their
names and versions into the stage's key, so adding a score or bumping its version re-runs the
novelty step (and only what reads it). The report, the CLI summary and the explorer's ROC view
take the methods and their kinds from the stage's ``metrics`` output. No numpy here: the plan
reads this registry without importing the scores.

Adding a score: its function in :mod:`pathways.analysis.novelty` or
:mod:`pathways.analysis.novelty_baselines` (``NoveltyInputs`` →
``{method: float[n]}``, higher = more unusual) and one entry below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pathways.registry import Registry, load_named


@dataclass(frozen=True)
class NoveltyScore:
    name: str
    kind: str
    """``ours`` (exactly one: the default score), ``variant`` (another design of ours, kept so
    every run measures what it adds or costs) or ``baseline``; the stage adds an ``oracle`` row
    for each per-layer score."""
    func: str
    """``"module:function"`` computing ``{method: scores}`` from a ``NoveltyInputs``."""
    per_layer: bool = False
    """One method per hidden layer (``mahalanobis:fc1``), rather than one."""
    note: str = ""
    """What a reader of the metrics table should know about it (shown as the row's note)."""
    version: int = 1
    neighbours: int = 0
    """How many nearest fitted samples it looks up in the last hidden layer beyond the kNN
    baseline's k: the stage searches that layer once for the most any score asks."""

    def load(self) -> Callable:
        return load_named(self.func)


_NOVELTY = "pathways.analysis.novelty"
_BASELINES = "pathways.analysis.novelty_baselines"
NOVELTY_SCORES: Registry[NoveltyScore] = Registry("novelty score")
for _score in [
    NoveltyScore("signature_knn_path", "ours", f"{_NOVELTY}:signature_knn_path_scores"),
    NoveltyScore(
        "signature_knn",
        "variant",
        f"{_NOVELTY}:signature_knn_scores",
        note="ours without the path term",
    ),
    NoveltyScore(
        "signature_path",
        "variant",
        f"{_NOVELTY}:signature_path_scores",
        note="ours without the kNN terms (the first default)",
    ),
    NoveltyScore("msp", "baseline", f"{_NOVELTY}:msp_scores"),
    NoveltyScore("energy", "baseline", f"{_NOVELTY}:energy_scores"),
    NoveltyScore("knn", "baseline", f"{_NOVELTY}:knn_scores"),
    NoveltyScore("mahalanobis", "baseline", f"{_NOVELTY}:mahalanobis_scores", per_layer=True),
    NoveltyScore(
        "relative_mahalanobis",
        "baseline",
        f"{_NOVELTY}:relative_mahalanobis_scores",
        version=2,  # 2: unshrunk covariances, as OpenOOD (1: one Ledoit–Wolf shrinkage)
    ),
    NoveltyScore("vim", "baseline", f"{_NOVELTY}:vim_scores"),
    NoveltyScore("mahalanobis_sum", "baseline", f"{_NOVELTY}:mahalanobis_sum_scores"),
    NoveltyScore(
        "nac", "baseline", f"{_BASELINES}:nac_scores", note="NAC-UE on the last hidden layer"
    ),
    NoveltyScore(
        "combood",
        "baseline",
        f"{_BASELINES}:combood_scores",
        note="kNN (k = 50) and Mahalanobis of the layers' extremes",
        neighbours=50,
    ),
    NoveltyScore("ash", "baseline", f"{_BASELINES}:ash_scores", note="ASH-B, percentile 90"),
    NoveltyScore("scale", "baseline", f"{_BASELINES}:scale_scores", note="percentile 85"),
]:
    NOVELTY_SCORES.add(_score.name, _score)


def neighbours_searched(scores: Any, knn_k: int) -> int:
    """The most nearest fitted samples any of the scores named in ``scores`` looks up in the
    last hidden layer (``knn_k`` at least)."""
    return max([knn_k, *(NOVELTY_SCORES[name].neighbours for name in scores)])


def score_versions() -> dict[str, int]:
    """Name → version of every registered score (part of the novelty step's key)."""
    return {name: score.version for name, score in NOVELTY_SCORES.items()}


def ours_method(metrics: Any) -> str:
    """The method of kind ``ours`` in a novelty step's ``metrics`` table (its score column)."""
    return str(metrics.loc[metrics["kind"] == "ours", "method"].iloc[0])


def score_note(method: str) -> str:
    """The registered note of the score a method comes from."""
    return NOVELTY_SCORES[method.split(":")[0]].note


def score_kind(method: str) -> str:
    """``ours``, ``variant`` or ``baseline``: the kind of the registered score a method comes
    from."""
    return NOVELTY_SCORES[method.split(":")[0]].kind
