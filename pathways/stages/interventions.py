"""The interventions stage: does the network *use* the units, layers and routes the analysis names?

``interventions/M`` checks each of the three answers by editing one layer during the forward
pass (:mod:`pathways.nets.interventions`) on a seeded sample of test images
(``samples_per_class`` per class, fewer where that would cost more than ``budget`` forward
passes per sample of the run: :mod:`~pathways.stages.interventions_budget`):

1. **Which neurons.** Per trained class and hidden layer: ablate the top-k units of the class's
   signature (ranked by the stored differences; conv channels at every position) for k on a
   grid up to ``max_share`` of the layer, set to the trained classes' mean (``ablation =
   "mean"``) or to zero; the same for ``random_draws`` draws of k random units and for the k
   units that layer Integrated Gradients ranks highest. Class accuracy and logit margin, with
   bootstrap intervals; the other trained classes' accuracy under the same ablation.
2. **From which layer.** Activation patching: each sample of class a gets, at one layer, the
   activations of a paired sample of class b — the whole layer, the pair's most different
   units (``patch_shares`` of the layer), or as many random units — and we count how often the prediction
   follows b. (Patching a whole layer of a network without skip connections hands over the
   prediction by construction: a check, not a finding. The units version is the answer.)
3. **The unseen class's route.** Each unseen (and, for reference, trained) test sample is moved
   at one layer from the route of the class it is called to that of another trained class
   (its activation plus the difference of the two classes' main-cluster centroids there), or
   by a random vector as long; we count how often the call changes to that class.

The verdicts (:mod:`pathways.analysis.interventions`) are stored beside the measurements.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from pathways.analysis.interventions import (
    ablation_summary,
    pair_ranking,
    patching_summary,
    route_summary,
)
from pathways.engine.artifacts import Artifact
from pathways.engine.progress import Progress
from pathways.stages.interventions_ablation import ablate_layer
from pathways.stages.interventions_budget import affordable_samples, forwards_per_sample
from pathways.stages.interventions_routes import patch_layer, route_layer
from pathways.stages.interventions_setup import Setup, StoredModel, stored_model


def interventions_stage(
    data: Artifact,
    train: Artifact,
    signatures: Artifact,
    clusters: Artifact,
    divergence: Artifact,
    *,
    samples_per_class: int,
    ablation: str,
    max_share: float,
    random_draws: int,
    route_steps: int,
    ig_steps: int,
    break_share: float,
    max_layers: int,
    budget: float,
    bootstrap: int,
    seed: int,
    trained_classes: list[int],
    unseen_classes: list[int],
    progress: Progress,
) -> dict[str, Any]:
    """Ablation curves, patching rates and route moves of one model, with their verdicts."""
    settings = {"ablation": ablation, "max_share": max_share, "random_draws": random_draws}
    settings |= {"ig_steps": ig_steps, "bootstrap": bootstrap, "seed": seed}
    sampled = (trained_classes, unseen_classes, samples_per_class, seed, max_layers)
    plan = settings | {"route_steps": route_steps, "budget": budget}
    setup, afforded = _afforded(stored_model(data, train), sampled, plan, progress)
    differences = signatures["differences"]
    advance = progress.task(f"interventions {setup.name}", total=3 * len(setup.layers))
    found = [ablate_layer(setup, layer, differences, **settings) for layer in setup.layers]
    advance(len(setup.layers), note="ablation")
    ablations = pd.concat([curves for curves, _ in found], ignore_index=True)
    contrasts = pd.concat([contrast for _, contrast in found], ignore_index=True)
    patched = _patching(setup, differences, seed)
    advance(len(setup.layers), note="patching")
    centroids = _centroids(setup, clusters["assignments"])
    routes = pd.concat(
        [route_layer(setup, layer, centroids[layer], route_steps, seed) for layer in setup.layers],
        ignore_index=True,
    )
    advance(len(setup.layers), note="routes")
    progress.log(f"{setup.name}: {len(ablations)} ablation points on {setup.n_samples} samples")
    verdicts = _verdicts(
        setup, ablations, contrasts, patched, routes, divergence, break_share, bootstrap, seed
    )
    return {
        "ablation": ablations,
        "ablation_contrasts": contrasts,
        "patching": patched,
        "routes": routes,
        **verdicts,
        "settings": settings
        | {"samples_per_class": samples_per_class, "break_share": break_share}
        | {"max_layers": max_layers, "budget": budget, "samples_per_class_run": afforded}
        | {"route_steps": route_steps, "layers": setup.layers, "units": setup.units},
    }


def _afforded(
    stored: StoredModel, sampled: tuple, plan: dict[str, Any], progress: Progress
) -> tuple[Setup, int]:
    """The model's setup, cut to the test samples per class that the plan's budget (forward
    passes per sample of the run) affords (:mod:`~pathways.stages.interventions_budget`), and
    that number (``wanted`` when it cuts no class's sample); the log says when it cuts."""
    setup = Setup.build(stored, *sampled)
    trained, unseen, wanted = sampled[:3]
    per_sample = forwards_per_sample(
        [setup.units[layer] for layer in setup.layers],
        len(trained),
        len(unseen),
        max_share=plan["max_share"],
        random_draws=plan["random_draws"],
        ig_steps=plan["ig_steps"],
        route_steps=plan["route_steps"],
    )
    afforded = affordable_samples(wanted, per_sample, plan["budget"] * len(stored[2]))
    if afforded >= max(len(ids) for ids in setup.test.values()):  # cuts no class
        return setup, wanted
    progress.log(
        f"{setup.name}: {afforded} test samples per class, not {wanted}: the edits of "
        f"{len(setup.layers)} layers would exceed interventions.budget ({plan['budget']:g} "
        "forward passes per sample of the run)"
    )
    return setup.limited(afforded, plan["seed"]), afforded


def _verdicts(
    setup: Setup,
    ablations: pd.DataFrame,
    contrasts: pd.DataFrame,
    patched: pd.DataFrame,
    routes: pd.DataFrame,
    divergence: Artifact,
    break_share: float,
    bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """The three summaries the report states."""
    return {
        "ablation_summary": ablation_summary(ablations, contrasts, break_share),
        "patching_summary": patching_summary(
            patched, setup.layers, divergence["divergence_layer"], bootstrap, seed
        ),
        "route_summary": route_summary(routes, setup.layers, bootstrap, seed),
    }


def _patching(setup: Setup, differences: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Every layer's per-sample patching of every trained pair, both directions."""
    frames = []
    for layer in setup.layers:
        orders = {
            (a, b): pair_ranking(differences, layer, a, b, setup.units[layer])
            for a in setup.classes
            for b in setup.classes
            if a < b
        }
        frames.append(patch_layer(setup, layer, orders, seed))
    return pd.concat(frames, ignore_index=True)


def _centroids(setup: Setup, assignments: pd.DataFrame) -> dict[str, dict[int, torch.Tensor]]:
    """Per layer and trained class: the mean full output of the class's seeded train samples
    in its main cluster there (the non-outlier cluster holding most of them; all of them if
    every one is an outlier) — the class's route at that layer."""
    found: dict[str, dict[int, torch.Tensor]] = {}
    offsets = np.cumsum([0, *[len(setup.train_ids[c]) for c in setup.classes]])
    for layer in setup.layers:
        at = assignments[assignments["layer"] == layer].set_index("sample_id")["cluster"]
        found[layer] = {}
        for i, cls in enumerate(setup.classes):
            ids = setup.train_ids[cls]
            cluster = at.reindex(ids).to_numpy()
            kept = cluster[cluster >= 0]
            rows = np.arange(len(ids))
            if len(kept):
                rows = np.flatnonzero(cluster == np.bincount(kept.astype(int)).argmax())
            values = setup.train_outputs[layer][offsets[i] : offsets[i + 1]]
            found[layer][cls] = values[torch.from_numpy(rows)].mean(0)
    return found
