"""Ablation curves of one layer (the interventions stage's question 2: which neurons).

Per trained class: switch off the top-k units of its signature, the top-k units of layer
Integrated Gradients (ranked on up to 100 of its samples) and ``random_draws`` draws of k random
units (each sample through 5 of them), for k on the grid, and measure the class's accuracy and
logit margin (bootstrap intervals over its samples), and the other trained classes' accuracy
under the signature's and the attribution's ablation (on about as many of their samples).
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
from pathways.stages.interventions_budget import ATTRIBUTED_SAMPLES, RANDOM_DRAWS_PER_SAMPLE

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
        others, other_index = _others(setup, cls)
        signature, _ = signature_ranking(differences, layer, cls, setup.classes, n_units)
        attributed = layer_integrated_gradients(
            setup.model, mine[:ATTRIBUTED_SAMPLES], layer, baseline, index, ig_steps
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


def _others(setup: Setup, cls: int) -> tuple[torch.Tensor, np.ndarray]:
    """The other trained classes' samples a class's ablations are also run on (each other
    class's share set aside for it, about as many as the class's own in all), and their outputs'
    indices."""
    rows = {c: setup.partner_rows(c, cls) for c in setup.classes if c != cls}
    inputs = torch.cat([setup.inputs[c][torch.from_numpy(r)] for c, r in rows.items()])
    index = np.concatenate([np.full(len(r), setup.classes.index(c)) for c, r in rows.items()])
    return inputs, index


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
    """float[draws, samples] twice: correct and margin under ``draws`` ablations of k random
    units each, NaN where a sample did not go through a draw. The draws are spread over the
    samples: a sample goes through :data:`RANDOM_DRAWS_PER_SAMPLE` of them (every draw when there
    are no more), one batched pass per group of samples sharing their draws."""
    n_units = setup.units[layer]
    chosen = np.argsort(rng.random((draws, n_units)), axis=1)[:, :k]
    mask = np.zeros((draws, n_units), dtype=bool)
    np.put_along_axis(mask, chosen, True, axis=1)
    groups = min(max(1, draws // RANDOM_DRAWS_PER_SAMPLE), len(mine))
    correct = np.full((draws, len(mine)), np.nan)
    margin = np.full((draws, len(mine)), np.nan)
    for group in range(groups):
        rows = np.arange(group, len(mine), groups)
        mine_draws = np.arange(group, draws, groups)
        logits = forward_copies(
            setup.model, mine[rows], layer, torch.from_numpy(mask[mine_draws]), baseline
        )
        right, gap = correct_and_margin(logits.reshape(-1, logits.shape[-1]), index)
        correct[np.ix_(mine_draws, rows)] = right.reshape(len(mine_draws), -1)
        margin[np.ix_(mine_draws, rows)] = gap.reshape(len(mine_draws), -1)
    return correct, margin


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
        per_draw = np.nanmean(random_correct, axis=1)
        for ranking in ("signature", "attribution", "random"):
            if ranking == "random":
                correct, margin = np.nanmean(random_correct, 0), np.nanmean(random_margin, 0)
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
                other, other_margin = np.nanmean(random_correct, 0), np.nanmean(random_margin, 0)
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
