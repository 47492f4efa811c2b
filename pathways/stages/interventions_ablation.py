"""Ablation curves of one layer (the interventions stage's question 2: which neurons).

Per trained class: switch off the top-k units of its signature, the top-k units of layer
Integrated Gradients and ``random_draws`` draws of k random units, for k on the grid, and
measure the class's accuracy and logit margin (bootstrap intervals over its samples), and the
other trained classes' accuracy under the signature's and the attribution's ablation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from pathways.analysis.interventions import bootstrap_means, k_grid, signature_ranking
from pathways.nets.interventions import (
    forward_copies,
    forward_edited,
    layer_integrated_gradients,
    replace_units,
    unit_mask,
)

if TYPE_CHECKING:
    from pathways.stages.interventions_setup import Setup


def correct_and_margin(logits: torch.Tensor, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: is output ``index`` the prediction, and its logit minus the best other one."""
    values = logits.double().numpy()
    others = np.delete(values, index, axis=1)
    return values.argmax(1) == index, values[:, index] - others.max(1)


def ablate_layer(
    setup: Setup,
    layer: str,
    differences: pd.DataFrame,
    *,
    ablation: str,
    max_share: float,
    random_draws: int,
    ig_steps: int,
    bootstrap: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ablation curves of every trained class at ``layer``, and the paired contrasts of the
    signature against random and attribution-ranked units."""
    n_units = setup.units[layer]
    baseline = setup.baseline[layer]
    if ablation == "zero":
        baseline = torch.zeros_like(baseline)
    grid = k_grid(n_units, max_share)
    rng = np.random.default_rng([seed, setup.layers.index(layer)])
    curves, contrasts = [], []
    for index, cls in enumerate(setup.classes):
        mine = setup.inputs[cls]
        others = torch.cat([setup.inputs[c] for c in setup.classes if c != cls])
        other_index = np.concatenate(
            [np.full(len(setup.inputs[c]), i) for i, c in enumerate(setup.classes) if c != cls]
        )
        signature, _ = signature_ranking(differences, layer, cls, setup.classes, n_units)
        attributed = layer_integrated_gradients(
            setup.model, mine, layer, baseline, index, ig_steps
        ).mean(0)
        rankings = {"signature": signature, "attribution": np.argsort(-attributed.numpy())}
        clean, _ = correct_and_margin(forward_edited(setup.model, mine, None, None), index)
        measured: dict[str, Any] = {}
        for k in grid:
            for ranking, order in rankings.items():
                edit = replace_units(unit_mask(n_units, order[:k]), baseline)
                both = forward_edited(setup.model, torch.cat([mine, others]), layer, edit)
                correct, margin = correct_and_margin(both[: len(mine)], index)
                rest = both[len(mine) :].argmax(1).numpy() == other_index
                measured[ranking, k] = (correct, margin, rest, order[:k])
            measured["random", k] = _random_draws(
                setup, mine, layer, baseline, index, k, random_draws, rng
            )
        found = _tables(layer, cls, n_units, grid, clean, measured, bootstrap, seed)
        curves.append(found[0])
        contrasts.append(found[1])
    return pd.concat(curves, ignore_index=True), pd.concat(contrasts, ignore_index=True)


def _random_draws(
    setup: Setup,
    mine: torch.Tensor,
    layer: str,
    baseline: torch.Tensor,
    index: int,
    k: int,
    draws: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """bool[draws, samples] and float[draws, samples]: correct and margin under ``draws``
    ablations of k random units each (all draws in one batched pass)."""
    n_units = setup.units[layer]
    chosen = np.argsort(rng.random((draws, n_units)), axis=1)[:, :k]
    mask = np.zeros((draws, n_units), dtype=bool)
    np.put_along_axis(mask, chosen, True, axis=1)
    logits = forward_copies(setup.model, mine, layer, torch.from_numpy(mask), baseline)
    correct, margin = correct_and_margin(logits.reshape(-1, logits.shape[-1]), index)
    return correct.reshape(draws, -1), margin.reshape(draws, -1)


def _tables(
    layer: str,
    cls: int,
    n_units: int,
    grid: list[int],
    clean: np.ndarray,
    measured: dict[Any, Any],
    bootstrap: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Curve rows (layer, class, ranking, k) and contrast rows (layer, class, k, versus); every
    interval from the same bootstrap resamples of the class's samples (paired)."""
    series: list[np.ndarray] = []

    def add(values: np.ndarray) -> int:
        series.append(np.asarray(values, dtype=np.float64))
        return len(series) - 1

    rows, contrast_rows = [], []  # each row names its series; _intervals gives them intervals
    for k in grid:
        random_correct, random_margin = measured["random", k]
        per_draw = random_correct.mean(1)
        for ranking in ("signature", "attribution", "random"):
            if ranking == "random":
                correct, margin = random_correct.mean(0), random_margin.mean(0)
                rest, units, spread = np.nan, "", np.quantile(per_draw, [0.025, 0.975])
            else:
                correct, margin, kept, order = measured[ranking, k]
                rest, units = kept.mean() if len(kept) else np.nan, ",".join(map(str, order))
                spread = (np.nan, np.nan)
            rows.append(
                {
                    "layer": layer,
                    "class": cls,
                    "ranking": ranking,
                    "k": k,
                    "share": k / n_units,
                    "n_units": n_units,
                    **_point(clean, correct, margin, rest, spread),
                    "units": units,
                    "_correct": add(correct),
                    "_margin": add(margin),
                }
            )
        signature, signature_margin = measured["signature", k][:2]
        for versus in ("random", "attribution"):
            if versus == "random":
                other, other_margin = random_correct.mean(0), random_margin.mean(0)
            else:
                other, other_margin = measured[versus, k][:2]
            drop = add(np.asarray(other, dtype=float) - signature.astype(float))
            margin_drop = add(other_margin - signature_margin)
            key = {"layer": layer, "class": cls, "k": k, "versus": versus}
            contrast_rows.append(key | {"_drop": drop, "_margin_drop": margin_drop})
    return _intervals(rows, contrast_rows, series, bootstrap, seed)


def _intervals(
    rows: list[dict],
    contrast_rows: list[dict],
    series: list[np.ndarray],
    bootstrap: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The curve and contrast tables, each row given its series' mean and paired interval."""
    low, high = bootstrap_means(np.vstack(series), bootstrap, seed)
    means = np.array([values.mean() for values in series])
    curves = pd.DataFrame(rows)
    for name in ("correct", "margin"):
        picks = curves.pop(f"_{name}").to_numpy()
        label = "accuracy" if name == "correct" else name
        curves[f"{label}_low"], curves[f"{label}_high"] = low[picks], high[picks]
    contrasts = pd.DataFrame(contrast_rows)
    for name in ("drop", "margin_drop"):
        picks = contrasts.pop(f"_{name}").to_numpy()
        contrasts[f"extra_{name}"] = means[picks]
        contrasts[f"extra_{name}_low"], contrasts[f"extra_{name}_high"] = low[picks], high[picks]
    return curves, contrasts


def _point(
    clean: np.ndarray, correct: np.ndarray, margin: np.ndarray, rest: float, spread: Any
) -> dict[str, float]:
    """One point of a curve: the class's accuracy and margin, the others' accuracy, and the
    spread of the random draws' accuracies."""
    return {
        "n": len(correct),
        "clean_accuracy": float(clean.mean()),
        "accuracy": float(np.mean(correct)),
        "margin": float(np.mean(margin)),
        "others_accuracy": float(rest),
        "draws_low": float(spread[0]),
        "draws_high": float(spread[1]),
    }
