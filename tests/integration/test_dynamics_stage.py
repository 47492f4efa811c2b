"""Training snapshots and the dynamics step on a real small run: the snapshots are the weights
of those epochs, the step's outputs are complete and readable, the report says when the answers
formed, and changing the snapshots re-runs training and what depends on it, nothing else."""

from __future__ import annotations

import io
import shutil
import tomllib
from pathlib import Path

import pyarrow.dataset as ds
import pytest
import torch

from pathways.data.subsets import ImageFormat
from pathways.experiment.config import parse_experiment
from pathways.nets.models import build_model
from pathways.nets.trained import model_spec
from pathways.nets.training import seeded
from pathways.stages.plan import build_plan, runner_for

from _cli import pathways


@pytest.fixture(scope="module")
def run(small_store: Path) -> Path:
    return small_store / "small"


def _state(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(io.BytesIO(path.read_bytes()), weights_only=True)


@pytest.mark.parametrize("model", ["mlp", "lenet5"])
def test_snapshots_are_the_weights_of_their_epochs(run: Path, model: str):
    import json

    snapshots = _state(run / "train" / model / "snapshots.pt")
    assert sorted(snapshots) == [0, 1, 3]
    final = _state(run / "train" / model / "weights.pt")
    for name, tensor in final.items():  # the last snapshot is the trained model, bit for bit
        assert torch.equal(snapshots[3][name], tensor), name
    description = json.loads((run / "train" / model / "model.json").read_text())
    with seeded(0):  # epoch 0 is the seeded initialisation
        fresh = build_model(
            model_spec(description["spec"]), 2, ImageFormat.from_json(description["image"])
        )
    for name, tensor in fresh.state_dict().items():
        assert torch.equal(snapshots[0][name], tensor), name
    assert any(not torch.equal(snapshots[0][k], snapshots[1][k]) for k in final)


def test_the_dynamics_step_measures_every_snapshot_and_layer(run: Path):
    import pandas as pd

    folder = run / "dynamics" / "lenet5"
    layers = pd.read_parquet(folder / "layers.parquet")
    assert sorted(layers["epoch"].unique()) == [0, 1, 3]
    assert set(layers["layer"]) == {"conv1", "conv2", "conv3", "fc1", "logit"}
    final = layers[layers["epoch"] == 3]
    assert final["cka_final"].round(6).eq(1.0).all()  # the last snapshot is the final network
    pairs = pd.read_parquet(folder / "pairs.parquet")
    assert len(pairs) == 3 * 5 and pairs["probe_accuracy"].between(0, 1).all()
    samples = pd.read_parquet(folder / "samples.parquet")
    assert len(samples) == 180  # fewer than analysis.dynamics_samples: all of them
    novelty = pd.read_parquet(folder / "novelty.parquet")
    assert {"signature_knn_path", "msp"} <= set(novelty["method"])
    embedding = pd.read_parquet(folder / "embedding.parquet")
    assert len(embedding) == 3 * 5 * 180
    dataset = ds.dataset(folder / "activations", format="parquet", partitioning="hive")
    one = dataset.to_table(filter=(ds.field("epoch") == 1) & (ds.field("layer") == "fc1"))
    assert one.num_rows == 180 and {len(v) for v in one.column("values").to_pylist()} == {84}
    assert dataset.count_rows() == 3 * 5 * 180


def test_the_report_says_when_the_answers_formed(run: Path, tmp_path: Path):
    import json

    report = json.loads((run / "report" / "report.json").read_text())
    during = report["models"]["mlp"]["during_training"]
    assert during["epochs"] == [0, 1, 3] and during["n_samples"] == 180
    assert set(during["settled"]) == {"fc1", "fc2", "logit"}
    assert during["unseen"][0]["class"] == 3
    text = (run / "report" / "report.md").read_text()
    assert "### During training" in text and "Snapshots at epochs 0, 1, 3" in text


def test_changing_the_snapshots_reruns_training_and_what_follows_only(
    small_store: Path, small_run_config: str, tmp_path: Path, data_dir: Path
):
    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    config = tomllib.loads(small_run_config)
    again = parse_experiment(config)
    statuses = runner_for(again, store).run(build_plan(again, data_dir=data_dir))
    assert {s.action for s in statuses} == {"cached"}
    config["training"]["snapshots"] = [0, 3]
    config["models"] = config["models"][:1]  # the MLP alone: half the re-run, same question
    changed = parse_experiment(config)
    ran = {
        s.step.id
        for s in runner_for(changed, store).run(build_plan(changed, data_dir=data_dir))
        if s.action == "run"
    }
    assert {"train/mlp", "capture/mlp", "dynamics/mlp", "report"} <= ran
    assert "data" not in ran
    assert not any("@seed" in step for step in ran)  # the stability seeds keep no snapshots
    import pandas as pd

    layers = pd.read_parquet(store / "small" / "dynamics" / "mlp" / "layers.parquet")
    assert sorted(layers["epoch"].unique()) == [0, 3]


def test_snapshots_outside_the_training_are_refused_in_one_line(
    small_run_config: str, tmp_path: Path, data_dir: Path
):
    from _cli import experiment_folder

    bad = small_run_config.replace("snapshots = [0, 1, 3]", "snapshots = [0, 5]")
    folder = experiment_folder(tmp_path, data_dir, {"bad.toml": bad})
    result = pathways("run", "bad.toml", cwd=folder, check=False)
    assert result.returncode == 2
    assert "training.snapshots: epoch 5 is not between 0" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (folder / "store" / "small").exists()
