"""Each interpretation method on cases whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from captum.attr import LayerGradCam
from torch import nn

from pathways.explain.attribution import (
    deconv_projections,
    gradcam_maps,
    occlusion_maps,
    strongest_activation,
)
from pathways.explain.feature_maps import feature_maps

# An asymmetric 3×3 filter, so that a flipped or transposed filter would show.
FILTER = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 3.0]])


class TopLeftDetector(nn.Module):
    """Class 1's logit sums the pooled filter responses in the top-left quadrant; class 0's is 0.

    Only pixels of the top-left quadrant can matter for the decision.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, 1, 3, bias=False), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(15 * 15, 2, bias=False)
        with torch.no_grad():
            self.conv[0].weight.copy_(FILTER[None, None])
            mask = torch.zeros(15, 15)
            mask[:7, :7] = 0.05
            self.head.weight.zero_()
            self.head.weight[1] = mask.flatten()
        self.feature_map_layers = {"conv": "conv", "pool": "pool"}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.conv(x)).flatten(1))


def _two_squares() -> torch.Tensor:
    """A bright square in the top-left quadrant and one in the bottom-right (ignored by the model)."""
    x = torch.zeros(1, 1, 32, 32)
    x[..., 4:9, 4:9] = 1.0
    x[..., 22:27, 22:27] = 1.0
    return x


def test_occlusion_finds_the_decisive_pixels_and_ignores_the_rest():
    model, x = TopLeftDetector().eval(), _two_squares()
    occlusion = occlusion_maps(model, x, np.array([1]), patch=4, stride=2)[0]
    assert occlusion[4:9, 4:9].min() > 0.01  # covering the top-left square lowers p(class 1)
    # The bottom-right square does not matter: zero up to float32 rounding (with oneDNN off, as
    # pathways runs torch, a batch of occluded images rounds differently from the single
    # reference image by ~1 ulp of the probability).
    assert np.abs(occlusion[18:, 18:]).max() < 1e-6
    assert np.unravel_index(occlusion.argmax(), occlusion.shape)[0] < 12


def test_occluding_a_blank_region_changes_nothing_on_a_real_lenet(lenet5_and_digits):
    model, x, _ = lenet5_and_digits
    occlusion = occlusion_maps(model, x[:4], np.zeros(4, dtype=int), patch=6, stride=2)
    for image, attribution in zip(x[:, 0].numpy(), occlusion, strict=False):
        # pixels all of whose patches lie in a black region: replacing black by black
        covered_ink = F.max_pool2d(
            torch.from_numpy(image)[None, None].gt(0).float(), 11, stride=1, padding=5
        )[0, 0].numpy()
        blank = covered_ink == 0
        assert blank.sum() > 50 and np.all(attribution[blank] == 0)
        assert np.abs(attribution).max() > 0  # the digit itself matters


def test_gradcam_matches_the_definition_on_lenet5(lenet5_and_digits):
    model, x, targets = lenet5_and_digits
    ours = gradcam_maps(model, "conv2", x, targets)
    # By hand: weights = spatial mean of d logit / d A, map = ReLU(sum_k w_k A_k), upsampled.
    seen = {}
    handle = model.conv2.register_forward_hook(lambda _m, _i, o: seen.update(a=o))
    logits = model(x)
    handle.remove()
    grads = torch.autograd.grad(
        logits[torch.arange(len(x)), torch.as_tensor(targets)].sum(), seen["a"]
    )[0]
    cam = F.relu((grads.mean((2, 3), keepdim=True) * seen["a"]).sum(1, keepdim=True))
    expected = F.interpolate(cam, size=(32, 32), mode="bilinear").squeeze(1).detach().numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-7)
    # and Captum's own LayerGradCam, used directly, agrees
    captum = LayerGradCam(model, model.conv2).attribute(
        x, target=torch.as_tensor(targets), relu_attributions=True
    )
    np.testing.assert_allclose(captum.detach().numpy(), cam.detach().numpy(), rtol=1e-5, atol=1e-9)
    assert (ours > 0).any()


def test_gradcam_of_the_toy_model_lies_on_what_the_decision_reads():
    model = TopLeftDetector().eval()
    x = torch.zeros(1, 1, 32, 32)
    x[..., 4:9, 4:9] = 1.0  # only the decisive square
    cam = gradcam_maps(model, "conv", x, np.array([1]))[0]
    assert cam[4:9, 4:9].mean() > 10 * max(cam[20:, 20:].mean(), 1e-9)


def test_deconvnet_of_one_unit_is_its_filter_at_its_receptive_field():
    model = TopLeftDetector().eval()
    x = torch.zeros(1, 1, 32, 32)
    x[0, 0, 10, 12] = 1.0  # one bright pixel: conv responses are the filter, flipped, around it
    where = strongest_activation(model, "conv", x)
    y0, x0 = int(where["y"][0]), int(where["x"][0])
    projection = deconv_projections(model, "conv", x, where["flat_index"])[0]
    expected = np.zeros((32, 32), np.float32)
    expected[y0 : y0 + 3, x0 : x0 + 3] = FILTER.numpy()  # transposed conv of a single unit
    np.testing.assert_allclose(projection, expected, atol=1e-6)
    assert where["value"][0] == pytest.approx(3.0)  # the filter's largest weight


def test_deconvnet_unpools_with_the_switches_of_the_forward_pass():
    model = TopLeftDetector().eval()
    x = torch.zeros(1, 1, 32, 32)
    x[0, 0, 10, 12] = 1.0
    where = strongest_activation(model, "pool", x)
    projection = deconv_projections(model, "pool", x, where["flat_index"])[0]
    # the pooled maximum came from the conv unit at (8, 10) (the filter's 3 at offset 2, 2)
    expected = np.zeros((32, 32), np.float32)
    expected[8:11, 10:13] = FILTER.numpy()
    np.testing.assert_allclose(projection, expected, atol=1e-6)


def _zero_insert(y: torch.Tensor, stride: int) -> torch.Tensor:
    n, c, h, w = y.shape
    out = torch.zeros(n, c, (h - 1) * stride + 1, (w - 1) * stride + 1)
    out[..., ::stride, ::stride] = y
    return out


@pytest.mark.parametrize("stride", [1, 2])
def test_transposed_convolution_is_the_zero_inserted_signal_convolved_with_flipped_filters(
    lenet5_and_digits, stride
):
    """The source's derivation: W^T y = conv(zero-insert(y), flip(W)) with full padding."""
    model = lenet5_and_digits[0]
    weight = model.conv2[0].weight.detach()  # 16 × 6 × 5 × 5
    y = torch.randn(2, 16, 6, 6, generator=torch.Generator().manual_seed(0))
    transposed = F.conv_transpose2d(y, weight, stride=stride)
    k = weight.shape[-1]
    by_hand = F.conv2d(
        F.pad(_zero_insert(y, stride), (k - 1,) * 4), weight.flip(2, 3).transpose(0, 1)
    )
    torch.testing.assert_close(transposed, by_hand, rtol=1e-5, atol=1e-5)


def test_deconvnet_on_lenet5_is_the_source_s_chain_of_steps(lenet5_and_digits):
    """Projection of conv2's strongest unit = transposed conv2 → unpool with switches →
    rectify → transposed conv1, written out step by step."""
    model, x, _ = lenet5_and_digits
    x = x[:3]
    where = strongest_activation(model, "conv2", x)
    ours = deconv_projections(model, "conv2", x, where["flat_index"])
    a1 = model.conv1(x)
    _, switches = F.max_pool2d(a1, 2, return_indices=True)
    signal = torch.zeros(len(x), 16 * 10 * 10)
    signal[torch.arange(len(x)), torch.as_tensor(where["flat_index"])] = 1.0
    signal = F.relu(signal.view(len(x), 16, 10, 10))  # conv2's ReLU, rectified
    signal = F.conv_transpose2d(signal, model.conv2[0].weight)  # → 6 × 14 × 14
    signal = F.max_unpool2d(signal, switches, 2, output_size=a1.shape[-2:])  # → 6 × 28 × 28
    signal = F.relu(signal)  # conv1's ReLU
    signal = F.conv_transpose2d(signal, model.conv1[0].weight)  # → 1 × 32 × 32
    np.testing.assert_allclose(ours, signal[:, 0].detach().numpy(), rtol=1e-5, atol=1e-6)


def test_feature_maps_of_every_conv_and_pooling_layer(lenet5_and_digits):
    model, x, _ = lenet5_and_digits
    maps = feature_maps(model, x[:2], model.feature_map_layers)
    assert {k: v.shape for k, v in maps.items()} == {
        "conv1": (2, 6, 28, 28),
        "pool1": (2, 6, 14, 14),
        "conv2": (2, 16, 10, 10),
        "pool2": (2, 16, 5, 5),
        "conv3": (2, 120, 1, 1),
    }
    np.testing.assert_allclose(maps["pool1"], F.max_pool2d(torch.from_numpy(maps["conv1"]), 2))
    toy = TopLeftDetector().eval()
    pixel = torch.zeros(1, 1, 32, 32)
    pixel[0, 0, 10, 12] = 2.0
    conv = feature_maps(toy, pixel, {"conv": "conv"})["conv"][0, 0]
    expected = np.zeros((30, 30), np.float32)
    expected[8:11, 10:13] = 2 * FILTER.flip(0, 1).numpy()  # cross-correlation: flipped filter
    np.testing.assert_allclose(conv, expected)
