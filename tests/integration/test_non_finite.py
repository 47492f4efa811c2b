"""Training that diverges and weights that give NaN: one line, exit 2, nothing downstream.

Through the real CLI on a tiny experiment (an MLP on 30 digits per class).
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
import torch

from _cli import pathways

TINY = """
name = "nan"
[data]
samples_per_class = 30
[[models]]
name = "mlp"
type = "mlp"
hidden = [8, 8]
[training]
epochs = 2
batch_size = 16
learning_rate = RATE
[analysis]
stability_seeds = 2
"""


def _error_lines(result: subprocess.CompletedProcess) -> list[str]:
    assert "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


@pytest.fixture()
def workdir(tmp_path: Path, data_dir: Path) -> Path:
    (tmp_path / "data").symlink_to(data_dir, target_is_directory=True)
    return tmp_path


def test_a_diverging_training_stops_at_once_with_one_line(workdir: Path):
    (workdir / "nan.toml").write_text(TINY.replace("RATE", "1e30"))
    result = pathways("run", "nan.toml", cwd=workdir, check=False)
    assert result.returncode == 2
    (line,) = _error_lines(result)
    assert "training of model 'mlp' (seed 0) diverged: the loss became nan in epoch 1" in line
    assert "lower training.learning_rate (now 1e+30), e.g. to 0.001" in line
    assert not (workdir / "store").exists()  # a new run that failed leaves the store as it was


def test_capture_refuses_non_finite_activations_and_names_the_layer(workdir: Path):
    (workdir / "nan.toml").write_text(TINY.replace("RATE", "0.001"))
    trained = pathways("run", "nan.toml", "--only", "train/mlp", cwd=workdir, check=False)
    assert trained.returncode == 0, trained.stderr
    # Weights that overflow in the second layer (as a broken checkpoint would), same size on disk.
    folder = workdir / "store" / "nan" / "train" / "mlp"
    state = torch.load(folder / "weights.pt", weights_only=True)
    state["fc2.0.weight"] = torch.full_like(state["fc2.0.weight"], 3e38)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    assert len(buffer.getvalue()) == (folder / "weights.pt").stat().st_size
    (folder / "weights.pt").write_bytes(buffer.getvalue())
    result = pathways("run", "nan.toml", "--only", "capture/mlp", cwd=workdir, check=False)
    assert result.returncode == 2
    (line,) = _error_lines(result)
    assert "capture of model 'mlp': layer fc2 gives NaN or infinite activations" in line, line
    assert "nothing was written" in line
    run = workdir / "store" / "nan"
    assert not (run / "capture").exists()
    assert not (run / ".tmp").exists() or not any((run / ".tmp").iterdir())
    assert "capture/mlp" not in json.loads((run / "run.json").read_text()).get("steps", {})
