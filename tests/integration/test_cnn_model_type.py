"""The configurable ``cnn`` model type through the whole pipeline, CLI to the explorer's views.

It is declared in the model-type registry (pathways/model_types.py: its settings and entry) and
its network in pathways/models.py; no other module names it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _cli import experiment_folder, pathways

pytestmark = pytest.mark.slow  # runs whole experiments (see README, Development)

CNN = """
name = "cnn"
[data]
samples_per_class = 30
[[models]]
name = "small-cnn"
type = "cnn"
conv = [[4, 3], [8, 5]]
pool = "avg"
batchnorm = true
dropout = 0.2
dense = [16]
[training]
epochs = 2
[analysis]
stability_seeds = 1
[explain]
samples_per_class = 2
members_per_cluster = 4
rotation_angles = [-45, 0, 45]
rotation_samples_per_class = 5
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    folder = experiment_folder(tmp_path_factory.mktemp("cnn"), data_dir, {"cnn.toml": CNN})
    pathways("run", "cnn.toml", cwd=folder)
    return folder / "store" / "cnn"


def test_every_conv_block_and_dense_layer_is_an_analysis_layer(run: Path):
    acts = pd.read_parquet(run / "capture/small-cnn/activations.parquet")
    assert len(acts) == 90
    for prefix, n in [("conv1_mean__", 4), ("conv1_max__", 4), ("conv2_mean__", 8), ("fc1__", 16)]:
        assert sum(c.startswith(prefix) for c in acts.columns) == n, prefix
    summary = pd.read_parquet(run / "clusters/small-cnn/cluster_summary.parquet")
    assert summary["layer"].tolist() == ["conv1", "conv2", "fc1", "logit"]
    divergence = pd.read_parquet(run / "divergence/small-cnn/divergence.parquet")
    assert set(divergence["layer"]) == {"input", "conv1", "conv2", "fc1", "logit"}
    model = pd.read_json(run / "train/small-cnn/model.json", typ="series")
    assert model["input_kind"] == "image28"
    # 4·(9+1) + 4·2 (batch norm) + 8·(4·25+1) + 8·2 + 16·(8·7·7+1) + 2·(16+1)
    assert model["parameters"] == 40 + 8 + 808 + 16 + 6288 + 34


def test_cnn_explanations_and_report(run: Path):
    explained = pd.read_parquet(run / "explain/small-cnn/explained.parquet")
    assert len(explained) >= 6 and explained["example"].sum() == 6
    images = np.load(run / "explain/small-cnn/images.npy")
    gradcam = np.load(run / "explain/small-cnn/gradcam.npy")
    assert images.shape[1:] == (28, 28) and gradcam.shape == images.shape
    assert np.isfinite(gradcam).all() and (gradcam >= 0).all()
    for name in ("conv1", "pool1", "conv2", "pool2"):
        maps = np.load(run / f"explain/small-cnn/maps_{name}.npy")
        assert maps.shape[0] == 6 and maps.ndim == 4
    report = (run / "report/report.md").read_text()
    assert "small-cnn" in report and "relative_mahalanobis" in report


def test_a_cnn_too_deep_for_28_pixels_is_one_line(tmp_path: Path):
    bad = CNN.replace("conv = [[4, 3], [8, 5]]", "conv = [[4, 3], [4, 3], [4, 3], [4, 3], [4, 3]]")
    (tmp_path / "deep.toml").write_text(bad)
    result = pathways("stages", "deep.toml", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: deep.toml: models: 'small-cnn' has 5 conv blocks — at most 4 fit a 28×28 digit "
        "(each halves its size)"
    )


def test_the_explorer_shows_the_cnn_run(run: Path):
    from pathways.app.frame import Frame
    from pathways.app.reader import StoreReader

    frame = Frame(StoreReader(run.parent))
    state = frame.initial(["cnn"])
    assert state["message"] == "" and state["layers"] == ["conv1", "conv2", "fc1", "logit"]
    assert state["embedding"]["data"] and state["method"] == "signature_knn_path"
    explain = frame.views["explain"]
    samples, first, clusters, cluster, message = explain.pickers("cnn", "small-cnn", [1, 7, 3])
    assert message == "" and len(samples) == 6 and clusters
    panels, maps, _ = explain.sample("cnn", "small-cnn", first)
    assert panels["layout"]["annotations"][0]["text"] == "input (28×28)"
    assert {t["type"] for t in maps["data"]} == {"heatmap"}
    spec = pd.read_json(run / "train/small-cnn/model.json", typ="series")["spec"]
    assert spec["pool"] == "avg" and spec["dropout"] == 0.2 and spec["batchnorm"] is True
