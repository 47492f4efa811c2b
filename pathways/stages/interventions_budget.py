"""How many test samples per class the interventions stage can afford.

Every edit runs the network forward again, so the stage's cost is counted in *sample forward
passes* (one sample through the whole network; a backward pass counts as two more). The plan of
one model — its edited layers and their widths, its classes, the ablation grid, the random
draws, the Integrated Gradients steps, the bisections — costs a number of them per test sample
per class (:func:`forwards_per_sample`). Capture costs one per sample of the run, so a budget of
``budget`` × the run's samples keeps the stage within a fixed multiple of capture's cost —
linear in samples × depth, however deep the network and however many classes it has. A model
whose plan exceeds it is checked on fewer samples per class (never fewer than
:data:`FEWEST_SAMPLES`), and the settings and the log say so.
"""

from __future__ import annotations

import math

from pathways.analysis.interventions import k_grid

FEWEST_SAMPLES = 30
"""Below this many samples per class an accuracy's 95 % interval is wider than ±0.15: the
budget never takes a class below it (a plan that still exceeds it runs over the budget)."""

RANDOM_DRAWS_PER_SAMPLE = 5
"""Random ablations each sample goes through per k: the draws are spread over the samples (each
draw on a share of them), so the random baseline costs 5 passes per sample, not one per draw."""

ATTRIBUTED_SAMPLES = 100
"""Samples of a class whose layer Integrated Gradients rank the units (their mean ranks)."""


def forwards_per_sample(
    units: list[int],
    trained: int,
    unseen: int,
    *,
    max_share: float,
    random_draws: int,
    ig_steps: int,
    route_steps: int,
) -> float:
    """Sample forward passes per test sample of each class, over the edited layers of ``units``
    (their widths): the ablation (per trained class: the clean pass, two rankings on its own
    samples and as many of the other classes', the random draws, Integrated Gradients), the
    patching (per trained class: the donors' outputs, the clean pass, two bisections over the
    layer's units) and the route moves (per class: the call, a bisection, a random move)."""
    draws = min(random_draws, RANDOM_DRAWS_PER_SAMPLE)
    total = 0.0
    for width in units:
        grid = len(k_grid(width, max_share))
        ablation = trained * (1 + grid * (2 * 2 + draws) + 3 * ig_steps)
        bisection = math.ceil(math.log2(max(width, 1))) + 2
        patching = trained * (2 + 2 * bisection)
        routes = (trained + unseen) * (2 + route_steps)
        total += ablation + patching + routes
    return total


def affordable_samples(wanted: int, per_sample: float, budget: float) -> int:
    """Test samples per class within ``budget`` sample forward passes: ``wanted`` if it fits,
    else as many as fit, but at least :data:`FEWEST_SAMPLES` (or ``wanted``, if smaller).

    >>> affordable_samples(500, 1_000.0, 1_000_000), affordable_samples(500, 10_000.0, 1_000_000)
    (500, 100)
    >>> affordable_samples(500, 1e6, 1e6), affordable_samples(20, 1e6, 1e6)
    (30, 20)
    """
    fits = int(budget // per_sample) if per_sample > 0 else wanted
    return min(wanted, max(fits, FEWEST_SAMPLES))
