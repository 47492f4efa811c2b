"""The networks and deterministic training, on real digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pathways.data.subsets import ImageFormat, select_samples
from pathways.errors import TrainingDiverged
from pathways.experiment.model_types import LeNet5Spec, MLPSpec
from pathways.nets.inputs import model_inputs
from pathways.nets.models import MLP, LeNet5, build_model
from pathways.nets.training import seeded, train_classifier

DIGIT = ImageFormat((28, 28))


def test_lenet5_has_61706_parameters_for_10_classes():
    assert sum(p.numel() for p in LeNet5(n_classes=10).parameters()) == 61_706


@pytest.mark.parametrize(("activation", "pooling"), [("relu", "max"), ("tanh", "avg")])
def test_lenet5_shapes_and_options(activation, pooling):
    model = LeNet5(n_classes=2, activation=activation, pooling=pooling)
    x = torch.rand(3, 1, 32, 32)
    assert model(x).shape == (3, 2)
    assert model.conv1(x).shape == (3, 6, 28, 28)
    assert isinstance(model.pool1, torch.nn.MaxPool2d if pooling == "max" else torch.nn.AvgPool2d)
    assert isinstance(model.conv1[1], torch.nn.ReLU if activation == "relu" else torch.nn.Tanh)
    assert list(model.hidden_layers) == ["conv1", "conv2", "conv3", "fc1"]


def test_mlp_widths_from_spec():
    model = build_model(MLPSpec(name="m", type="mlp", hidden=[256, 128, 64]), 2, DIGIT)
    assert isinstance(model, MLP)
    widths = [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [256, 128, 64, 2]
    assert list(model.hidden_layers) == ["fc1", "fc2", "fc3"]
    assert isinstance(build_model(LeNet5Spec(name="l", type="lenet5"), 3, DIGIT), LeNet5)


def _tensors(mnist, kind: str):
    samples = select_samples(mnist, [1, 7], [], samples_per_class=150, split_seed=0)
    out = {}
    for split in ("train", "test"):
        rows = (samples["split"] == split).to_numpy()
        x = model_inputs(mnist.images[samples["source_index"][rows]], kind, DIGIT)
        y = torch.from_numpy((samples["label"][rows].to_numpy() == 7).astype("int64"))
        out[split] = (x, y)
    return out


def _train(mnist, seed: int, kind: str = "flat", learning_rate: float = 1e-3):
    data = _tensors(mnist, kind)
    with seeded(seed):
        model = MLP([32, 16], 2) if kind == "flat" else LeNet5(2)
    result = train_classifier(
        model,
        *data["train"],
        *data["test"],
        classes=[1, 7],
        epochs=3,
        batch_size=32,
        learning_rate=learning_rate,
        seed=seed,
    )
    return model, result


def test_training_is_deterministic_for_a_seed_and_learns(mnist):
    model_a, result_a = _train(mnist, seed=3)
    model_b, result_b = _train(mnist, seed=3)
    model_c, _ = _train(mnist, seed=4)
    for (name, a), b, _c in zip(
        model_a.state_dict().items(),
        model_b.state_dict().values(),
        model_c.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(a, b), name
    assert not all(
        torch.equal(a, c)
        for a, c in zip(model_a.state_dict().values(), model_c.state_dict().values(), strict=True)
    )
    assert result_a.history.equals(result_b.history)
    last = result_a.history[result_a.history.epoch == 3].set_index("split")["accuracy"]
    assert last["test"] > 0.9
    assert set(result_a.per_class["class"]) == {1, 7}
    test_conf = result_a.confusion[result_a.confusion.split == "test"]
    assert test_conf["count"].sum() == 60
    correct = test_conf[test_conf.true_class == test_conf.predicted_class]["count"].sum()
    assert correct / 60 == pytest.approx(last["test"])


def test_seeded_restores_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with seeded(7):
        torch.rand(5)
    assert torch.equal(torch.rand(3), expected)


def test_lenet5_learns_1_vs_7(mnist):
    _, result = _train(mnist, seed=0, kind="image32")
    last = result.history[result.history.epoch == 3].set_index("split")["accuracy"]
    assert last["test"] > 0.9


def test_a_diverging_training_stops_at_the_first_non_finite_loss(mnist):
    with pytest.raises(TrainingDiverged) as info:
        _train(mnist, 0, learning_rate=1e30)
    assert info.value.epoch == 1 and not np.isfinite(info.value.loss)
    assert info.value.batch is None or 1 < info.value.batch <= info.value.n_batches == 8


def test_a_rate_beyond_float32_is_a_divergence_not_a_crash(mnist):
    with pytest.raises(
        TrainingDiverged, match="the weight update overflowed in epoch 1, at batch 1"
    ):
        _train(mnist, 0, learning_rate=1e39)
