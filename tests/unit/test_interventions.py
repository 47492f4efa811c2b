"""Interventions with known answers: a hand-built network whose output depends only on named
units, which enter at a known layer; and the edit mechanics on reused modules, conv channels
and skip connections."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from pathways.analysis.differences import unit_differences
from pathways.analysis.interventions import (
    ablation_summary,
    patching_summary,
    route_summary,
    signature_ranking,
    smallest_switch,
)
from pathways.nets.interventions import (
    forward_copies,
    forward_edited,
    layer_integrated_gradients,
    layer_outputs,
    replace_units,
    shifted,
    unit_mask,
)
from pathways.stages.interventions import _centroids, _patching
from pathways.stages.interventions_ablation import ablate_layer
from pathways.stages.interventions_budget import forwards_per_sample
from pathways.stages.interventions_routes import patch_layer, route_layer
from pathways.stages.interventions_setup import Setup

A, B, UNSEEN = 1, 7, 3


class KnownNet(nn.Module):
    """Inputs: 2 signal features, then 4 noise features. ``early`` sees only the noise;
    the class information *enters* at ``enter``, whose units 0 and 1 copy the signal (units
    2–5 copy ``early``); the logits are units 0 and 1 of ``enter`` and nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self.early = nn.Linear(4, 4)
        self.enter = nn.Linear(6, 6)
        self.out = nn.Linear(6, 2)
        with torch.no_grad():
            for layer in (self.early, self.enter):
                layer.weight.copy_(torch.eye(layer.in_features))
                layer.bias.zero_()
            self.out.weight.zero_()
            self.out.weight[0, 0] = self.out.weight[1, 1] = 1.0
            self.out.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noise = self.early(x[:, 2:])
        return self.out(self.enter(torch.cat([x[:, :2], noise], dim=1)))


def _samples(label: int, n: int, rng: np.random.Generator) -> torch.Tensor:
    """Class A: signal (≈1, small); B: (small, ≈1); unseen: (0.6, 0.4) ± noise, called A."""
    small = rng.uniform(0.0, 0.1, n)
    high = 1.0 + rng.normal(0, 0.05, n)
    signal = {
        A: np.stack([high, small], 1),
        B: np.stack([small, high], 1),
        UNSEEN: np.stack([0.6 + rng.normal(0, 0.03, n), 0.4 + rng.normal(0, 0.03, n)], 1),
    }[label]
    return torch.tensor(np.hstack([signal, rng.normal(0, 1, (n, 4))]), dtype=torch.float32)


@pytest.fixture(scope="module")
def known() -> tuple[Setup, pd.DataFrame]:
    rng = np.random.default_rng(0)
    n = 120
    test = {c: (np.arange(n) + 1000 * i, _samples(c, n, rng)) for i, c in enumerate((A, B, UNSEEN))}
    train = {c: (np.arange(n) + 5000 * (i + 1), _samples(c, n, rng)) for i, c in enumerate((A, B))}
    setup = Setup.of("known", KnownNet(), [A, B], ["early", "enter"], test, train)
    outputs = layer_outputs(setup.model, torch.cat([train[A][1], train[B][1]]), setup.layers)
    labels = np.repeat([A, B], n)
    differences = pd.concat(
        [
            unit_differences(
                outputs[layer].numpy(),
                labels,
                [f"{u:02d}" for u in range(6 if layer == "enter" else 4)],
                A,
                B,
            ).assign(layer=layer)
            for layer in setup.layers
        ],
        ignore_index=True,
    )
    return setup, differences


SETTINGS = {"max_share": 0.5, "random_draws": 30, "ig_steps": 16, "bootstrap": 200, "seed": 0}


def test_switching_off_the_named_units_breaks_the_class_and_random_units_do_not(known):
    setup, differences = known
    curves, contrasts = ablate_layer(setup, "enter", differences, ablation="zero", **SETTINGS)
    at_one = curves[(curves["k"] == 1) & (curves["class"] == A)].set_index("ranking")
    assert at_one.loc["signature", "units"] == "0"  # A's named unit ranks first
    assert at_one.loc["signature", "clean_accuracy"] == 1.0
    assert at_one.loc["signature", "accuracy"] <= 0.05  # broken by one unit
    assert at_one.loc["random", "accuracy"] >= 0.6  # a random unit is that one 1 time in 6
    assert at_one.loc["attribution", "accuracy"] <= 0.05  # Integrated Gradients finds it too
    summary = ablation_summary(curves, contrasts, 0.5).set_index(["layer", "class"])
    assert summary.loc[("enter", A), "break_signature"] == 1
    assert summary.loc[("enter", B), "break_signature"] == 1
    assert bool(summary.loc[("enter", A), "beats_random"])
    assert not bool(summary.loc[("enter", A), "beats_attribution"])  # both find the unit


def test_ablating_a_layer_without_the_information_changes_nothing(known):
    setup, differences = known
    curves, _ = ablate_layer(setup, "early", differences, ablation="mean", **SETTINGS)
    trained = curves[curves["class"].isin([A, B])]
    assert (trained["accuracy"] == trained["clean_accuracy"]).all()
    assert np.allclose(trained["margin_low"] <= trained["margin_high"], True)


def test_patching_flips_where_the_information_enters_and_not_before(known):
    setup, differences = known
    entering = differences[differences["layer"] == "enter"]["cohen_d"].abs().to_numpy()
    orders = {(A, B): np.argsort(-entering, kind="stable")}
    enter = patch_layer(setup, "enter", orders, seed=0)
    early_order = {(A, B): np.arange(4)}
    early = patch_layer(setup, "early", early_order, seed=0)
    assert early["top_share"].isna().all()  # nothing of the class is there to hand over
    assert enter["top_share"].notna().all()  # the whole layer always hands it over
    assert enter["top_share"].median() <= 2 / 6  # the two named units suffice
    assert enter["random_share"].median() > 0.5  # in random order they come late
    correlational = pd.DataFrame({"class_a": [A], "class_b": [B], "divergence_layer": ["enter"]})
    table = pd.concat([early, enter], ignore_index=True)
    summary = patching_summary(table, setup.layers, correlational, bootstrap=200)
    assert set(summary["causal_layer"]) == {"enter"}
    assert summary["agree"].all()
    assert summary.set_index("layer").loc["early", "whole_layer_follows"] == 0.0


def _one_cluster_each(setup: Setup) -> pd.DataFrame:
    """Cluster assignments putting each trained class's train samples in a cluster of its own."""
    return pd.DataFrame(
        [
            {"sample_id": int(i), "layer": layer, "cluster": 0 if c == A else 1}
            for layer in setup.layers
            for c in (A, B)
            for i in setup.train_ids[c]
        ]
    )


def test_the_unseen_class_switches_route_where_the_routes_differ(known):
    setup, _ = known
    centroids = _centroids(setup, _one_cluster_each(setup))
    routes = pd.concat(
        [route_layer(setup, layer, centroids[layer], steps=8, seed=0) for layer in setup.layers]
    )
    unseen = routes[routes["label"] == UNSEEN]
    assert (unseen["call"] == A).all() and (unseen["target"] == B).all()
    enter = unseen[unseen["layer"] == "enter"]["switch_fraction"]
    assert enter.notna().all() and enter.median() < 0.5  # the 3s sit near the boundary
    summary = route_summary(routes, setup.layers, bootstrap=200)
    row = summary[(summary["group"] == "unseen") & (summary["layer"] == "early")].iloc[0]
    assert row["switched_whole_way"] == 0.0  # the routes do not differ there
    assert set(summary.loc[summary["group"] == "unseen", "deciding_layer"]) == {"enter"}


def test_signature_ranking_orients_each_class_and_takes_a_channels_larger_part():
    differences = pd.DataFrame(
        {
            "layer": "conv",
            "unit": ["mean_0", "mean_1", "max_0", "max_1"],
            "class_a": 1,
            "class_b": 7,
            "cohen_d": [0.5, -2.0, 3.0, -0.1],
        }
    )
    order_1, scores_1 = signature_ranking(differences, "conv", 1, [1, 7], 2)
    order_7, _ = signature_ranking(differences, "conv", 7, [1, 7], 2)
    assert order_1.tolist() == [0, 1] and scores_1.tolist() == [3.0, -0.1]
    assert order_7.tolist() == [1, 0]  # 7 is higher on channel 1 (d of 1 vs 7: −2)


def test_smallest_switch_finds_each_rows_threshold():
    thresholds = np.array([0.3, 0.71, 2.0])
    found = smallest_switch(lambda f: f >= thresholds, 3, 1.0, integer=False, steps=10)
    assert abs(found[0] - 0.3) < 1e-3 and abs(found[1] - 0.71) < 1e-3 and np.isnan(found[2])


class Reused(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.act = nn.Linear(3, 3), nn.Linear(3, 2), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.act(self.a(self.act(x))))


def test_an_edit_of_a_reused_module_changes_only_its_call():
    torch.manual_seed(0)
    model, x = Reused().eval(), torch.rand(5, 3) + 0.1
    zero_all = replace_units(unit_mask(3, np.arange(3)), torch.zeros(3))
    first = forward_edited(model, x, "act#0", zero_all)
    second = forward_edited(model, x, "act#1", zero_all)
    with torch.no_grad():
        assert torch.allclose(first, model.b(model.act(model.a(torch.zeros(5, 3)))))
        assert torch.allclose(second, model.b(torch.zeros(5, 3)).expand(5, 2))


def test_a_conv_channel_is_edited_at_every_position():
    conv = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.Flatten()).eval()
    x = torch.rand(2, 1, 4, 4)
    value = torch.full((3, 4, 4), 7.0)
    out = forward_edited(conv, x, "0", replace_units(unit_mask(3, [1]), value)).view(2, 3, 4, 4)
    with torch.no_grad():
        clean = conv(x).view(2, 3, 4, 4)
    assert (out[:, 1] == 7.0).all()
    assert torch.equal(out[:, [0, 2]], clean[:, [0, 2]])


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem, self.inner, self.head = nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        return self.head(h + torch.relu(self.inner(h)))  # a skip around ``inner``


@pytest.mark.parametrize("model_class", [Residual, Reused])
def test_copies_at_the_layer_equal_copies_of_the_input(model_class):
    torch.manual_seed(1)
    model = model_class().eval()
    x = torch.rand(9, 4 if model_class is Residual else 3)
    layer = "inner" if model_class is Residual else "act#1"
    n_units = 4 if model_class is Residual else 3
    masks = torch.rand(5, n_units) > 0.5
    values = torch.randn(n_units)
    copied = forward_copies(model, x, layer, masks, values)
    for i, mask in enumerate(masks):
        one = forward_edited(model, x, layer, replace_units(mask[None], values))
        assert torch.allclose(copied[i], one, atol=1e-6)


def test_layer_integrated_gradients_add_up_to_the_margin_change():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 3)).eval()
    x = torch.randn(4, 5)
    baseline = torch.zeros(6)
    attribution = layer_integrated_gradients(model, x, "1", baseline, target=2, steps=64)

    def margin(logits: torch.Tensor) -> torch.Tensor:
        return logits[:, 2] - logits[:, :2].mean(1)

    at_base = forward_edited(model, x, "1", shifted(-layer_outputs(model, x, ["1"])["1"]))
    expected = margin(forward_edited(model, x, None, None)) - margin(at_base)
    assert torch.allclose(attribution.sum(1).float(), expected, atol=1e-3)


def test_the_budget_counts_the_forward_passes_the_stage_makes(known):
    """The cost model the budget relies on is an upper bound of the passes really made (a pass
    with gradients counts three: forward and backward), and not a loose one."""
    setup, differences = known
    passes = [0]

    def count(_module, inputs):
        passes[0] += len(inputs[0]) * (3 if torch.is_grad_enabled() else 1)

    handle = setup.model.register_forward_pre_hook(count)
    try:
        settings = SETTINGS | {"random_draws": 20}
        for layer in setup.layers:
            ablate_layer(setup, layer, differences, ablation="mean", **settings)
        _patching(setup, differences, seed=0)
        centroids = _centroids(setup, _one_cluster_each(setup))
        for layer in setup.layers:
            route_layer(setup, layer, centroids[layer], steps=8, seed=0)
    finally:
        handle.remove()
    per_sample = forwards_per_sample(
        [setup.units[layer] for layer in setup.layers],
        len(setup.classes),
        1,
        max_share=settings["max_share"],
        random_draws=20,
        ig_steps=settings["ig_steps"],
        route_steps=8,
    )
    planned = per_sample * len(setup.test[A])
    assert planned / 2 <= passes[0] <= planned


def test_a_class_meets_each_other_class_on_its_own_share_of_its_samples(known):
    setup, _ = known
    three = Setup.of(
        "three",
        setup.model,
        [A, B, UNSEEN],
        setup.layers,
        {c: (setup.test[c], setup.inputs[c]) for c in setup.test},
        {c: (setup.test[c], setup.inputs[c]) for c in setup.test},
    )
    shares = [three.partner_rows(A, other) for other in (B, UNSEEN)]
    assert not set(shares[0]) & set(shares[1])
    assert sorted(np.concatenate(shares)) == list(range(len(setup.test[A])))
    assert list(setup.partner_rows(A, B)) == list(range(len(setup.test[A])))  # two: all
    fewer = setup.limited(50, seed=0)
    assert {len(ids) for ids in fewer.test.values()} == {50}
    assert set(fewer.test[A]) < set(setup.test[A]) and len(fewer.inputs[A]) == 50
    kept = np.searchsorted(setup.test[A], fewer.test[A])
    assert torch.equal(fewer.inputs[A], setup.inputs[A][torch.from_numpy(kept)])
