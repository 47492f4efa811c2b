"""Patching between classes and moving samples onto another class's route, at one layer (the
interventions stage's questions 1 and 3), one row per sample; the verdicts are
:func:`pathways.analysis.interventions.patching_summary` and ``route_summary``."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from pathways.analysis.interventions import smallest_switch
from pathways.nets.interventions import (
    forward_edited,
    layer_outputs,
    replace_units,
    shifted,
)

if TYPE_CHECKING:
    from pathways.stages.interventions_setup import Setup


def _prefix_masks(orders: np.ndarray, counts: np.ndarray) -> torch.Tensor:
    """bool[rows, units]: row i marks the first ``counts[i]`` units of ``orders[i]``."""
    ranks = np.empty_like(orders)
    np.put_along_axis(ranks, orders, np.arange(orders.shape[1])[None], axis=1)
    return torch.from_numpy(ranks < counts[:, None])


def _follows(
    model: torch.nn.Module,
    x: torch.Tensor,
    layer: str,
    ranking: np.ndarray,
    paired: torch.Tensor,
    target: int,
    counts: np.ndarray,
) -> np.ndarray:
    """Per row: is the prediction ``target`` once its first ``counts`` units in ``ranking``
    take the paired donor's values?"""
    edit = replace_units(_prefix_masks(ranking, counts.astype(int)), paired)
    return forward_edited(model, x, layer, edit).argmax(1).numpy() == target


def _moved(
    model: torch.nn.Module,
    x: torch.Tensor,
    layer: str,
    vector: torch.Tensor,
    target: int,
    fractions: np.ndarray,
) -> np.ndarray:
    """Per row: is the prediction ``target`` once ``fractions`` × ``vector`` is added at ``layer``?"""
    shape = (-1, *([1] * (vector.ndim - 1)))
    scaled = vector * torch.from_numpy(fractions.astype(np.float32)).view(shape)
    return forward_edited(model, x, layer, shifted(scaled)).argmax(1).numpy() == target


def patch_layer(
    setup: Setup, layer: str, orders: dict[tuple[int, int], np.ndarray], seed: int
) -> pd.DataFrame:
    """Per trained pair, both directions, per sample of the source class (its share set aside
    for the donor class, :meth:`Setup.partner_rows`) given a paired sample of the donor class at
    ``layer``: the smallest share of the layer's units that, patched from the donor, makes the
    prediction the donor's class — the pair's most different units first (``top_share``), or in
    a random order (``random_share``); NaN when not even the whole layer does."""
    n_units = setup.units[layer]
    rng = np.random.default_rng([seed, 1, setup.layers.index(layer)])
    outputs = {
        c: layer_outputs(setup.model, setup.inputs[c], [layer])[layer] for c in setup.classes
    }
    frames = []
    for (a, b), order in orders.items():
        for source, donor in ((a, b), (b, a)):
            rows = setup.partner_rows(source, donor)
            x = setup.inputs[source][torch.from_numpy(rows)]
            paired = outputs[donor][torch.from_numpy(rng.integers(0, len(outputs[donor]), len(x)))]
            target = setup.classes.index(donor)
            clean = forward_edited(setup.model, x, None, None).argmax(1).numpy() == target
            found = {}
            rankings = {
                "top": np.broadcast_to(order, (len(x), n_units)),
                "random": np.argsort(rng.random((len(x), n_units)), axis=1),
            }
            for name, ranking in rankings.items():
                follows = functools.partial(
                    _follows, setup.model, x, layer, ranking, paired, target
                )
                found[f"{name}_share"] = (
                    smallest_switch(follows, len(x), n_units, integer=True) / n_units
                )
            frames.append(
                pd.DataFrame(
                    {
                        "layer": layer,
                        "pair_a": a,
                        "pair_b": b,
                        "source": source,
                        "donor": donor,
                        "sample_id": setup.test[source][rows],
                        "n_units": n_units,
                        "clean_follows": clean,
                        **found,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def _aims(calls: np.ndarray, classes: int) -> np.ndarray:
    """The class each sample is moved towards: with two classes the one it is not called as;
    with more, the others in turn over the samples called alike (so each sample is moved once,
    and the work grows with the classes, not with their square).

    >>> _aims(np.array([0, 0, 0, 1, 1, 2]), 3).tolist()
    [1, 2, 1, 0, 2, 0]
    """
    aims = np.empty(len(calls), dtype=int)
    for call in np.unique(calls):
        mine = np.flatnonzero(calls == call)
        others = np.array([c for c in range(classes) if c != call])
        aims[mine] = others[np.arange(len(mine)) % len(others)]
    return aims


def route_layer(
    setup: Setup, layer: str, centroids: dict[int, torch.Tensor], steps: int, seed: int
) -> pd.DataFrame:
    """Per test sample and one trained class it is not called as (:func:`_aims`): the smallest
    fraction of the way from the route of its call to that class's route (the difference of
    their centroids at ``layer``, added to its activation) that changes its call to that class
    (NaN: not even the whole way), and whether a random move as long as the whole way does."""
    rng = np.random.default_rng([seed, 2, setup.layers.index(layer)])
    frames = []
    for label, x in setup.inputs.items():
        calls = forward_edited(setup.model, x, None, None).argmax(1).numpy()
        aimed = _aims(calls, len(setup.classes))
        for target_index, target in enumerate(setup.classes):
            away = np.flatnonzero(aimed == target_index)
            if not len(away):
                continue
            start = torch.stack([centroids[setup.classes[c]] for c in calls[away]])
            delta = centroids[target].unsqueeze(0) - start
            shape = (-1, *([1] * (delta.ndim - 1)))
            moved = functools.partial(_moved, setup.model, x[away], layer, delta, target_index)
            noise = torch.from_numpy(rng.standard_normal(delta.shape).astype(np.float32))
            length = delta.flatten(1).norm(dim=1) / noise.flatten(1).norm(dim=1).clamp_min(1e-12)
            random = _moved(
                setup.model,
                x[away],
                layer,
                noise * length.view(shape),
                target_index,
                np.ones(len(away)),
            )
            frames.append(
                pd.DataFrame(
                    {
                        "group": "trained" if label in setup.classes else "unseen",
                        "label": label,
                        "sample_id": setup.test[label][away],
                        "call": np.asarray(setup.classes)[calls[away]],
                        "target": target,
                        "layer": layer,
                        "switch_fraction": smallest_switch(moved, len(away), 1.0, False, steps),
                        "random_moved": random,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)
