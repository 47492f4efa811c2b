"""Capture exactness on tiny models with hand-set weights, and hook hygiene."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from pathways.errors import PathwaysError
from pathways.nets.capture import capture_activations, channel_stats, recording


def _linear(weight: list[list[float]], bias: list[float]) -> nn.Linear:
    layer = nn.Linear(len(weight[0]), len(weight))
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
        layer.bias.copy_(torch.tensor(bias))
    return layer


class InplaceNet(nn.Module):
    """fc1 → ReLU(inplace) → fc2: the in-place ReLU overwrites fc1's output tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = _linear([[1.0, -1.0], [-2.0, 1.0], [0.5, 0.5]], [0.0, 1.0, -1.0])
        self.act = nn.ReLU(inplace=True)
        self.fc2 = _linear([[1.0, 2.0, 3.0]], [0.5])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class ReusedReluNet(nn.Module):
    """One ReLU module called twice per forward pass."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = _linear([[1.0, -1.0], [-1.0, 1.0]], [0.0, 0.0])
        self.fc2 = _linear([[1.0, 1.0], [1.0, -3.0]], [-1.0, 0.0])
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.fc2(self.relu(self.fc1(x))))


X = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.0, 0.0], [-2.0, 5.0]])


def _by_hand_inplace(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w1 = np.array([[1.0, -1.0], [-2.0, 1.0], [0.5, 0.5]])
    pre = x @ w1.T + np.array([0.0, 1.0, -1.0])
    return pre, np.maximum(pre, 0.0)


def _all_hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_inplace_relu_keeps_pre_activation_and_post_activation_exact():
    model = InplaceNet()
    result = capture_activations(model, [X[:3], X[3:]], ["fc1", "act", "fc2"])
    pre, post = _by_hand_inplace(X.numpy().astype(np.float64))
    np.testing.assert_allclose(result.activations["fc1"], pre, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(result.activations["act"], post, rtol=1e-6, atol=1e-6)
    assert (result.activations["fc1"] < 0).any(), "pre-activations must keep their negative values"
    expected_out = post @ np.array([1.0, 2.0, 3.0]) + 0.5
    np.testing.assert_allclose(result.activations["fc2"][:, 0], expected_out, rtol=1e-6)
    np.testing.assert_allclose(result.outputs[:, 0], expected_out, rtol=1e-6)


def test_reused_relu_records_each_call_separately():
    model = ReusedReluNet()
    result = capture_activations(model, [X], ["relu"])
    x = X.numpy().astype(np.float64)
    first = np.maximum(x @ np.array([[1.0, -1.0], [-1.0, 1.0]]).T, 0.0)
    second = np.maximum(first @ np.array([[1.0, 1.0], [1.0, -3.0]]).T + np.array([-1.0, 0.0]), 0.0)
    assert set(result.activations) == {"relu#0", "relu#1"}
    np.testing.assert_allclose(result.activations["relu#0"], first, atol=1e-6)
    np.testing.assert_allclose(result.activations["relu#1"], second, atol=1e-6)


def test_hooks_removed_after_capture_and_after_forward_raises():
    model = InplaceNet()
    before = _all_hooks(model)
    capture_activations(model, [X], ["fc1", "act"])
    assert _all_hooks(model) == before

    def boom(*_):
        raise RuntimeError("forward failed")

    model.fc2.register_forward_pre_hook(boom)
    before = _all_hooks(model)
    with pytest.raises(RuntimeError, match="forward failed"):
        capture_activations(model, [X], ["fc1", "act"])
    assert _all_hooks(model) == before

    with pytest.raises(ValueError), recording(model, ["fc1"]):
        assert _all_hooks(model) == before + 2
        raise ValueError
    assert _all_hooks(model) == before


def test_saved_arrays_are_detached_copies():
    model = InplaceNet()
    result = capture_activations(model, [X], ["fc1"])
    saved = result.activations["fc1"].copy()
    with torch.no_grad():
        model.fc1.weight.add_(10.0)
    model(X)
    assert isinstance(result.activations["fc1"], np.ndarray)
    np.testing.assert_array_equal(result.activations["fc1"], saved)
    assert not any(isinstance(v, torch.Tensor) for v in vars(result).values())


def test_layer_that_never_fires_is_an_error():
    model = InplaceNet()
    model.unused = nn.ReLU()  # registered but not called by forward
    with pytest.raises(PathwaysError, match="'unused' never ran"):
        capture_activations(model, [X], ["fc1", "unused"])


def test_unknown_layer_and_empty_loader_are_errors():
    model = InplaceNet()
    with pytest.raises(PathwaysError, match="'fc9' is not a module"):
        capture_activations(model, [X], ["fc9"])
    with pytest.raises(PathwaysError, match="no batches"):
        capture_activations(model, [], ["fc1"])


def test_dataloader_batches_targets_and_training_flag_restored():
    model = InplaceNet().train()
    dataset = torch.utils.data.TensorDataset(X, torch.arange(len(X)))
    loader = torch.utils.data.DataLoader(dataset, batch_size=3)
    result = capture_activations(model, loader, ["act"])
    assert model.training
    assert result.n_batches == 2
    np.testing.assert_array_equal(result.targets, np.arange(len(X)))
    np.testing.assert_allclose(result.activations["act"], _by_hand_inplace(X.numpy())[1], atol=1e-6)


def test_channel_stats_match_full_feature_maps():
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(inplace=True))
    model = nn.Sequential(conv, nn.Flatten(), nn.LazyLinear(2))
    images = torch.rand(5, 1, 8, 8)
    model(images)
    full = capture_activations(model, [images], ["0"]).activations["0"]
    stats = capture_activations(model, [images], {"0": channel_stats}).activations
    np.testing.assert_allclose(stats["0:mean"], full.mean(axis=(2, 3)), rtol=1e-5)
    np.testing.assert_allclose(stats["0:max"], full.max(axis=(2, 3)), rtol=1e-6)
    assert full.shape == (5, 3, 6, 6)


def test_preallocated_path_matches_chunked_path_and_checks_count():
    model = InplaceNet()
    chunked = capture_activations(model, [X[:3], X[3:]], ["fc1", "act"])
    direct = capture_activations(model, [X[:3], X[3:]], ["fc1", "act"], n_samples=len(X))
    for key in ("fc1", "act"):
        np.testing.assert_array_equal(chunked.activations[key], direct.activations[key])
    with pytest.raises(PathwaysError, match="more than n_samples=3"):
        capture_activations(model, [X[:3], X[3:]], ["fc1"], n_samples=3)


@given(n=st.integers(1, 5000), shard=st.integers(1, 3000), batch=st.integers(1, 700))
def test_shards_hold_whole_capture_batches(n: int, shard: int, batch: int):
    """A sharded capture's forward passes see exactly the local capture's batches: every shard
    starts on a batch boundary, the shards tile the rows in order, none is larger than asked
    (unless one batch is)."""
    from pathways.stages.capture import shard_bounds

    shards = shard_bounds(n, shard, batch)
    assert shards[0][0] == 0 and shards[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(shards, shards[1:], strict=False))
    assert all(start % batch == 0 and end > start for start, end in shards)
    assert all(end - start <= max(shard, batch) for start, end in shards)
    local = [(s, min(s + batch, n)) for s in range(0, n, batch)]
    sharded = [(s, min(s + batch, end)) for start, end in shards for s in range(start, end, batch)]
    assert sharded == local
