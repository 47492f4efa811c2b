"""The IDX loader on generated valid and corrupt files, and on real Fashion-MNIST."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from pathways.data.idx import load_idx_folder, read_idx, write_idx
from pathways.errors import DataError

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist


def _make_folder(folder: Path, n_train: int = 30, n_test: int = 10, compress: bool = True) -> tuple:
    rng = np.random.default_rng(1)
    ext = ".gz" if compress else ""
    parts = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels)
        parts[prefix] = (images, labels)
    return parts


@pytest.mark.parametrize("compress", [True, False])
def test_roundtrip_train_then_t10k(tmp_path: Path, compress: bool):
    parts = _make_folder(tmp_path, compress=compress)
    digits = load_idx_folder(tmp_path)
    np.testing.assert_array_equal(
        digits.images, np.concatenate([parts["train"][0], parts["t10k"][0]])
    )
    np.testing.assert_array_equal(
        digits.labels, np.concatenate([parts["train"][1], parts["t10k"][1]])
    )
    assert digits.images.dtype == np.uint8 and digits.images.shape == (40, 28, 28)


def test_gzip_detected_by_content_not_name(tmp_path: Path):
    labels = np.arange(7, dtype=np.uint8)
    path = write_idx(tmp_path / "labels-idx1-ubyte", labels, compress=True)
    np.testing.assert_array_equal(read_idx(path, ndim=1), labels)


def _write_raw(path: Path, payload: bytes) -> Path:
    path.write_bytes(payload)
    return path


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "bad magic number"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "bad magic number"),
        (b"\x00\x00\x0d\x01\x00\x00\x00\x01\x05\x00\x00\x00", "type 0x0d"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "truncated or corrupt"),
        (b"\x00\x00\x08\x01\x00\x00", "truncated header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x05\x09", "truncated or corrupt"),
    ],
)
def test_corrupt_files_are_clear_errors(tmp_path: Path, payload: bytes, message: str):
    path = _write_raw(tmp_path / "x-idx1-ubyte", payload)
    with pytest.raises(DataError, match=message) as info:
        read_idx(path, ndim=1)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_wrong_dimension_count_suggests_swapped_files(tmp_path: Path):
    path = write_idx(tmp_path / "labels", np.zeros((2, 3, 3), dtype=np.uint8))
    with pytest.raises(DataError, match="3 dimensions where 1 are expected"):
        read_idx(path, ndim=1)


def test_truncated_gzip_is_an_error(tmp_path: Path):
    path = write_idx(
        tmp_path / "train-images-idx3-ubyte.gz", np.zeros((50, 28, 28), dtype=np.uint8)
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="cannot read|truncated"):
        read_idx(path)


def test_count_mismatch_between_images_and_labels(tmp_path: Path):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((5, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(4, dtype=np.uint8))
    with pytest.raises(DataError, match="5 images but .* 4 labels"):
        load_idx_folder(tmp_path)


def test_missing_folder_files_and_partner(tmp_path: Path):
    with pytest.raises(DataError, match="no such folder"):
        load_idx_folder(tmp_path / "nope")
    with pytest.raises(DataError, match="no IDX files found"):
        load_idx_folder(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((5, 28, 28), dtype=np.uint8))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.* is missing"):
        load_idx_folder(tmp_path)


def test_a_single_part_is_enough(tmp_path: Path):
    images = np.full((3, 28, 28), 7, dtype=np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([1, 2, 3], dtype=np.uint8))
    digits = load_idx_folder(tmp_path)
    assert len(digits) == 3 and digits.classes == [1, 2, 3]


def test_gzip_payload_is_the_same_as_raw(tmp_path: Path):
    images = np.arange(2 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(2, 28, 28)
    raw = write_idx(tmp_path / "a-idx3-ubyte", images)
    gz = write_idx(tmp_path / "a-idx3-ubyte.gz", images)
    assert gzip.decompress(gz.read_bytes()) == raw.read_bytes()


@pytest.mark.skipif(
    not FASHION_MNIST.is_dir(), reason="Debian package dataset-fashion-mnist not installed"
)
def test_reads_debian_fashion_mnist():
    digits = load_idx_folder(FASHION_MNIST)
    assert digits.images.shape == (70_000, 28, 28)
    assert digits.classes == list(range(10))
    assert np.bincount(digits.labels).tolist() == [7000] * 10
    assert digits.images.dtype == np.uint8 and digits.images.max() == 255
