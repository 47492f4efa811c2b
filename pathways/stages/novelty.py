"""The novelty stage: every registered score of every sample, its metrics with bootstrap
intervals, conformal p-values and flags, each sample's reason, the unseen classes' closest
signatures. No torch here."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pathways.analysis.cluster import fit_sample_mask
from pathways.analysis.conformal import calibration_split, decide
from pathways.analysis.novelty import NoveltyInputs
from pathways.analysis.novelty_evaluation import (
    by_class_with_notes_and_oracle,
    evaluate,
    evaluate_by_class,
    score_differences,
    signature_affinity,
    with_notes_and_oracle,
)
from pathways.analysis.novelty_reasons import sample_reasons
from pathways.analysis.novelty_scores import (
    NOVELTY_SCORES,
    neighbours_searched,
    ours_method,
    score_kind,
)
from pathways.engine.artifacts import Artifact
from pathways.engine.progress import Progress
from pathways.stages.reading import captured, hidden_layers
from pathways.store.activations import layer_matrix
from pathways.store.reading import load_layer


def novelty_stage(
    capture: Artifact,
    clusters: Artifact,
    paths: Artifact,
    *,
    knn_k: int,
    bootstrap: int,
    seed: int,
    novelty_fdr: float,
    novelty_calibration: float,
    unseen_classes: list[int],
    scores: dict[str, int],
    progress: Progress,
) -> dict[str, Any]:
    """Every novelty score named in ``scores`` (the registered ones, with their versions) of
    every sample (ours and the baselines), their AUROC and FPR@95 on test samples, conformal
    p-values and flags at ``novelty_fdr`` with what they did, each sample's reason, and the
    unseen classes' closest signatures."""
    path, samples, layers = captured(capture)
    labels = samples["label"].to_numpy()
    seen = samples["seen"].to_numpy()
    fit = fit_sample_mask(samples)
    test = samples["split"].astype(str).to_numpy() == "test"
    loaded = {layer: load_layer(path, layer) for layer in hidden_layers(layers)}
    hidden = {layer: data.values for layer, data in loaded.items()}
    logits = load_layer(path, "logit").values
    sample_paths = paths["sample_paths"].set_index("sample_id").loc[samples["sample_id"], "path"]
    given = (layer_matrix(path, "prob"), labels, fit, sample_paths.to_numpy(), knn_k)
    inputs = NoveltyInputs(hidden, logits, *given, neighbours_searched(scores, knn_k))
    advance = progress.task("novelty", total=len(scores) + 1)
    computed: dict[str, np.ndarray] = {}
    for name in scores:
        computed |= NOVELTY_SCORES[name].load()(inputs)
        advance()
    last = list(hidden)[-1]
    memo: dict = {}  # each score's resampled metrics per group, computed once
    metrics = with_notes_and_oracle(evaluate(computed, ~seen, test, bootstrap, seed, memo), last)
    by_class = _metrics_by_class(
        metrics, computed, labels, ~seen, test, last, (bootstrap, seed), memo
    )
    ours = ours_method(metrics)
    differences = score_differences(computed, ours, labels, ~seen, test, bootstrap, seed, memo)
    score_table = samples[["sample_id", "label", "split", "seen"]].copy()
    for method, values in computed.items():
        score_table[method] = values.astype(np.float64)  # as evaluated: float32 ties scores
    affinity = signature_affinity(hidden | {"logit": logits}, labels, fit, sorted(unseen_classes))
    units = {layer: data.units for layer, data in loaded.items()}
    advance()
    return {
        "scores": score_table,
        "metrics": metrics,
        "metrics_by_class": by_class,
        "differences": differences,
        "signature_affinity": affinity,
        **novelty_decisions(score_table, computed, ours, novelty_fdr, novelty_calibration, seed),
        "reasons": sample_reasons(inputs, samples["sample_id"].to_numpy(), units),
    }


def _metrics_by_class(
    metrics: pd.DataFrame,
    computed: dict[str, np.ndarray],
    labels: np.ndarray,
    unseen: np.ndarray,
    test: np.ndarray,
    last_layer: str,
    resampling: tuple[int, int],
    memo: dict,
) -> pd.DataFrame:
    """Each unseen class's metrics (with one unseen class: the pooled ones); ``resampling``:
    bootstrap resamples and seed."""
    only = np.unique(labels[unseen])
    if len(only) == 1:
        by_class = metrics.assign(unseen_class=int(only[0]))
        return by_class[["unseen_class", *metrics.columns]]
    found = evaluate_by_class(computed, labels, unseen, test, *resampling, memo)
    return by_class_with_notes_and_oracle(found, last_layer)


def novelty_decisions(
    score_table: pd.DataFrame,
    computed: dict[str, np.ndarray],
    ours: str,
    fdr: float,
    calibration_share: float,
    seed: int,
) -> dict[str, pd.DataFrame]:
    """Conformal p-values of every score against a calibration part of the trained classes'
    test samples, Benjamini–Hochberg flags at ``fdr`` over the rest of the test split, and what
    the flags did (``decisions``). ``score_table`` gains each sample's ``role`` and our score's
    ``pvalue`` and ``novel`` flag."""
    labels = score_table["label"].to_numpy()
    seen = score_table["seen"].to_numpy()
    test = score_table["split"].astype(str).to_numpy() == "test"
    calibration = calibration_split(labels, test & seen, calibration_share, seed)
    screened = test & ~calibration
    pvalues, flags, rows = decide(computed, calibration, screened, ~seen, fdr)
    role = np.where(calibration, "calibration", np.where(screened, "screened", "other"))
    role = np.where(seen & ~test, "fit", role)
    score_table["role"] = pd.Categorical(role, ["fit", "calibration", "screened", "other"])
    score_table["pvalue"], score_table["novel"] = pvalues[ours], flags[ours]
    ids = score_table[["sample_id"]]
    decisions = pd.DataFrame(rows)
    decisions.insert(1, "kind", [score_kind(m) for m in decisions["method"]])
    return {
        "pvalues": ids.assign(**pvalues),
        "flags": ids.assign(**flags),
        "decisions": decisions,
    }
