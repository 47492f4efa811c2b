"""Checking an explanation by editing the input: black out the pixels it points to and see how
much the class's probability falls.

>>> import torch
>>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
>>> _ = net.requires_grad_(False)
>>> net[1].weight[:] = torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 0]]); net[1].bias[:] = 0
>>> x = torch.ones(1, 1, 2, 2)
>>> mask = torch.tensor([[True, False], [False, False]])
>>> float(masked_drop(net, x, 0, mask)[0])  # the margin of class 0 over class 1: 1 → 0
1.0
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn


def top_pixels(evidence: np.ndarray, share: float) -> Tensor:
    """bool[h, w]: the ``share`` of pixels (at least one) where ``evidence`` is largest."""
    flat = evidence.ravel()
    n = max(1, round(share * flat.size))
    mask = np.zeros(flat.size, bool)
    mask[np.argsort(-flat, kind="stable")[:n]] = True
    return torch.from_numpy(mask.reshape(evidence.shape))


@torch.no_grad()
def masked_drop(model: nn.Module, x: Tensor, target: int, mask: Tensor) -> np.ndarray:
    """float64[n]: how much the ``target`` class's margin (its logit minus the largest other
    logit) falls when the pixels of ``mask`` (h × w, every channel) are set to black — the
    baseline Integrated Gradients starts from. A margin, not a probability: a sample the
    network is sure of keeps p ≈ 1 however much evidence it loses."""
    model.eval()
    return (_margin(model(x), target) - _margin(model(x.masked_fill(mask, 0.0)), target)).numpy()


def _margin(logits: Tensor, target: int) -> Tensor:
    others = torch.cat([logits[:, :target], logits[:, target + 1 :]], 1)
    return (logits[:, target] - others.max(1).values).double()
