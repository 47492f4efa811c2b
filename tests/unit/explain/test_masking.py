"""Blacking out what an explanation points to, on a network whose answer is known."""

from __future__ import annotations

import numpy as np
import torch

from pathways.explain.masking import masked_drop, top_pixels


def _corner_reader() -> torch.nn.Module:
    """Class 0's logit is the sum of the top-left 4 × 4 pixels; class 1's is 1."""
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2)).requires_grad_(False)
    weights = torch.zeros(2, 8, 8)
    weights[0, :4, :4] = 1.0
    net[1].weight[:] = weights.reshape(2, 64)
    net[1].bias[:] = torch.tensor([0.0, 1.0])
    return net


def test_blacking_out_the_pixels_read_costs_the_margin_and_others_cost_nothing() -> None:
    x = torch.rand(5, 1, 8, 8)
    net = _corner_reader()
    read = torch.zeros(8, 8, dtype=torch.bool)
    read[:4, :4] = True
    expected = x[:, 0, :4, :4].sum((1, 2)).double().numpy()
    np.testing.assert_allclose(masked_drop(net, x, 0, read), expected, rtol=1e-5)
    np.testing.assert_allclose(masked_drop(net, x, 0, ~read), 0.0, atol=1e-6)


def test_top_pixels_takes_the_share_asked_where_evidence_is_largest() -> None:
    evidence = np.arange(100, dtype=float).reshape(10, 10)
    mask = top_pixels(evidence, 0.05)
    assert int(mask.sum()) == 5 and bool(mask[9, 9]) and not bool(mask[0, 0])
    assert int(top_pixels(evidence, 0.001).sum()) == 1  # at least one pixel
