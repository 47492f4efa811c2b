"""A whole small pipeline through the real CLI into a temporary folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from pathways.data.idx import write_idx

from _cli import pathways

SMALL = """
name = "small"
trained_classes = [1, 7]
unseen_classes = [3]

[data]
samples_per_class = 60

[[models]]
name = "mlp"
type = "mlp"
hidden = [HIDDEN]

[[models]]
name = "lenet5"
type = "lenet5"

[training]
epochs = 2
batch_size = 32

[analysis]
stability_seeds = 2
"""

PER_MODEL = [
    "train",
    "capture",
    "signatures",
    "clusters",
    "embedding",
    "paths",
    "divergence",
    "novelty",
    "rotation",
    "dataset",
    "explain",
    "strategies",
    "interventions",
]
STEPS = {"data", "report"} | {
    step
    for model in ("mlp", "lenet5")
    for step in [f"{stage}/{model}" for stage in PER_MODEL]
    + [f"train/{model}@seed1", f"capture/{model}@seed1", f"stability/{model}"]
}
MLP_STEPS = {step for step in STEPS if step.split("/")[-1].split("@")[0] == "mlp"}


def manifests(store: Path) -> dict[str, dict]:
    return {
        str(p.parent.relative_to(store / "small")): json.loads(p.read_text())
        for p in sorted((store / "small").rglob("manifest.json"))
    }


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, data_dir) -> Path:
    folder = tmp_path_factory.mktemp("pipeline")
    (folder / "data").symlink_to(data_dir, target_is_directory=True)
    (folder / "small.toml").write_text(SMALL.replace("HIDDEN", "32, 16"))
    return folder


def test_first_run_writes_all_outputs(workdir: Path):
    result = pathways("run", "small.toml", "--workers", "2", cwd=workdir)  # on 2 processes
    assert "ran" in result.stdout
    found = manifests(workdir / "store")
    assert set(found) == STEPS and len(STEPS) == 34
    run = workdir / "store" / "small"
    samples = pd.read_parquet(run / "data" / "samples.parquet")
    assert len(samples) == 180 and samples.groupby("label").size().tolist() == [60, 60, 60]
    for model, first_layer, n_units in [("mlp", "fc1__", 32), ("lenet5", "conv1_mean__", 6)]:
        df = pd.read_parquet(run / "capture" / model / "activations.parquet")
        assert len(df) == 180
        assert len([c for c in df.columns if c.startswith(first_layer)]) == n_units
        first_layer += "0" * len(str(n_units - 1))
        assert list(df.columns[:8]) == [
            "sample_id",
            "source_index",
            "label",
            "class_name",
            "split",
            "seen",
            "predicted_class",
            "confidence",
        ]
        assert df[first_layer].dtype == np.float32
        assert set(df["predicted_class"]) <= {1, 7}
        np.testing.assert_allclose(df["prob__1"] + df["prob__7"], 1.0, rtol=1e-5)
        np.testing.assert_allclose(
            df[["prob__1", "prob__7"]].max(axis=1), df["confidence"], rtol=1e-6
        )
        assert set(df.loc[~df.seen, "label"]) == {3}
        count, mean = duckdb.sql(
            f"SELECT count(*), avg(\"{first_layer}\") FROM read_parquet('{run / 'capture' / model / 'activations.parquet'}')"
        ).fetchall()[0]
        assert count == 180 and mean == pytest.approx(df[first_layer].mean(), rel=1e-5)
    from pathways.store.activations import provenance

    prov = provenance(run / "capture" / "mlp" / "activations.parquet")
    assert prov["experiment"]["name"] == "small" and prov["stage_versions"]["capture"] >= 1
    assert (
        prov["stage"] == "capture" and "torch" in prov["versions"] and "pyarrow" in prov["versions"]
    )
    history = pd.read_parquet(run / "train" / "mlp" / "history.parquet")
    assert history["epoch"].max() == 2 and set(history["split"]) == {"train", "test"}
    assert (run / "train" / "mlp" / "weights.pt").stat().st_size > 0


def test_second_run_skips_every_stage(workdir: Path):
    before = manifests(workdir / "store")
    result = pathways("run", "small.toml", cwd=workdir)  # its speed: bench_warm_run.py
    assert result.stdout.count("cached") == len(STEPS) and "ran" not in result.stdout
    assert manifests(workdir / "store") == before


def test_stages_and_show(workdir: Path):
    out = pathways("stages", "small.toml", cwd=workdir).stdout
    assert out.count("skip (cached)") == len(STEPS)
    shown = pathways("show", "small", cwd=workdir).stdout
    assert "capture/lenet5" in shown and "conv1:mean (6)" in shown and "accuracy train" in shown
    assert pathways("show", cwd=workdir).stdout.strip() == "small"


def test_changing_one_parameter_reruns_exactly_downstream(workdir: Path):
    before = manifests(workdir / "store")
    (workdir / "small.toml").write_text(SMALL.replace("HIDDEN", "24, 16"))
    planned = pathways("stages", "small.toml", cwd=workdir).stdout
    assert planned.count("skip (cached)") == len(STEPS) - len(MLP_STEPS) - 1
    pathways("run", "small.toml", cwd=workdir)
    after = manifests(workdir / "store")
    changed = {step for step in after if after[step]["key"] != before[step]["key"]}
    rewritten = {
        step
        for step in after
        if after[step]["started_at"] != before[step]["started_at"] or after[step] != before[step]
    }
    assert changed == MLP_STEPS | {"report"}
    assert rewritten == MLP_STEPS | {"report"}
    assert (
        len(
            [
                c
                for c in pd.read_parquet(
                    workdir / "store/small/capture/mlp/activations.parquet"
                ).columns
                if c.startswith("fc1__")
            ]
        )
        == 24
    )


def test_only_and_force(workdir: Path):
    before = manifests(workdir / "store")
    result = pathways("run", "small.toml", "--only", "train/lenet5", "--force", cwd=workdir)
    assert "ran" in result.stdout
    after = manifests(workdir / "store")
    assert {s for s in after if after[s] != before[s]} == {"train/lenet5"}
    assert after["train/lenet5"]["key"] == before["train/lenet5"]["key"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            'trained_classes = [1, 12]\n[[models]]\nname = "m"\ntype = "mlp"\n',
            "class 12 is not in the data set",
        ),
        (
            'trained_classes = [1, 7]\nunseen_classes = [7]\n[[models]]\nname = "m"\ntype = "mlp"\n',
            "unseen_classes",
        ),
        ('[[models]]\nname = "m"\ntype = "vit"\n', "unknown model type 'vit'"),
        ('[[models]]\nname = "m"\ntype = "mlp"\n[training]\nepochs = 0\n', "training.epochs"),
        ("trained_classes = [1, 7\n", "not valid TOML"),
        ('[[models]]\nname = "m"\ntype = "mlp"\n[training]\nepochs = "five"\n', "training.epochs"),
        ('[[models]]\nname = "m"\ntype = "mlp"\nlayers = 3\n', "models.0.layers"),
        ("trained_classes = [1, 7]\n", "declare at least one [[models]] table"),
        (
            '[[models]]\nname = "m"\ntype = "mlp"\n[training]\nlearning_rate = inf\n',
            "training.learning_rate: input should be a finite number (got inf)",
        ),
        ('[[models]]\nname = "m"\ntype = "mlp"\n[data]\n"[x]" = 1\n', "data.'[x]': unknown key"),
    ],
    ids=[
        "unknown-class",
        "class-twice",
        "model-type",
        "range",
        "syntax",
        "type",
        "unknown-key",
        "literal-brackets",
        "non-finite",
        "bracket-key",
    ],
)
def test_bad_configs_exit_2_with_one_line(workdir: Path, config: str, message: str):
    path = workdir / "bad.toml"
    path.write_text('name = "bad"\n' + config)
    result = pathways("run", "bad.toml", cwd=workdir, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.stderr
    assert not (workdir / "store" / "bad" / "train").exists()


def test_truncated_idx_file_is_one_line(workdir: Path, tmp_path: Path):
    folder = tmp_path / "digits"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 60), ("t10k", 20)):
        write_idx(
            folder / f"{prefix}-images-idx3-ubyte.gz",
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        )
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    images = folder / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:-300])  # a download cut short
    (workdir / "idx.toml").write_text(
        f'name = "idx"\n[data]\nsource = "idx"\npath = "{folder}"\n'
        '[[models]]\nname = "m"\ntype = "mlp"\n'
    )
    result = pathways("run", "idx.toml", cwd=workdir, check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and str(images) in lines[0]
    assert not (workdir / "store" / "idx").exists()  # no run folder, no lock


def test_missing_run_and_escaping_run_names(workdir: Path):
    for name, message in [
        ("nothere", "no run 'nothere'"),
        ("..", "not allowed"),
        ("/etc", "not allowed"),
    ]:
        result = pathways("show", name, cwd=workdir, check=False)
        assert result.returncode == 2 and message in result.stderr


@pytest.mark.parametrize(
    ("workers", "stop"), [("1", signal.SIGINT), ("2", signal.SIGINT), ("2", signal.SIGTERM)]
)
def test_interrupted_run_leaves_no_half_written_output(
    workdir: Path, tmp_path: Path, workers, stop
):
    """Ctrl-C, or SIGTERM (kill, timeout), stops the run and every worker process with it."""
    import psutil

    name = f"long{workers}{stop.name}"
    config = workdir / f"{name}.toml"
    config.write_text(
        f'name = "{name}"\n[[models]]\nname = "lenet5"\ntype = "lenet5"\n[training]\nepochs = 500\n'
    )
    env = {
        **os.environ,
        "PATHWAYS_STORE": str(workdir / "store"),
        "PATHWAYS_DATA": str(workdir / "data"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "pathways", "run", str(config), "--workers", workers],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = workdir / "store" / name
    deadline = time.time() + 60
    while not (run / "data" / "manifest.json").exists() and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(stop)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    _, alive = psutil.wait_procs(children, timeout=15)  # the forkserver leaves on its own
    assert not alive
    assert "interrupted" in stderr and "Traceback" not in stderr and "Warning" not in stderr
    assert (run / "data" / "manifest.json").exists()
    assert not (run / "train").exists()
    assert not (run / ".tmp").exists() or not any((run / ".tmp").iterdir())


def test_list_layout_and_feature_maps(workdir: Path):
    config = workdir / "maps.toml"
    config.write_text(
        'name = "maps"\ntrained_classes = [0, 1]\nunseen_classes = [2]\n[data]\nsamples_per_class = 20\n'
        '[[models]]\nname = "lenet5"\ntype = "lenet5"\n[training]\nepochs = 1\n'
        '[capture]\nfeature_maps = true\nlayout = "list"\n'
    )
    pathways("run", "maps.toml", "--only", "capture", cwd=workdir)  # what this test reads
    from pathways.store.activations import layer_matrix

    run = workdir / "store" / "maps" / "capture" / "lenet5"
    df = pd.read_parquet(run / "activations.parquet")
    assert len(df) == 60 and "conv1_mean" in df.columns and len(df["fc1"].iloc[0]) == 84
    maps = pd.read_parquet(run / "feature_maps.parquet")
    conv1 = np.stack(maps["conv1"].to_numpy()).reshape(60, 6, 28, 28)
    np.testing.assert_allclose(
        conv1.mean(axis=(2, 3)), layer_matrix(run / "activations.parquet", "conv1:mean"), rtol=1e-5
    )
    np.testing.assert_allclose(
        conv1.max(axis=(2, 3)), layer_matrix(run / "activations.parquet", "conv1:max"), rtol=1e-6
    )
    assert len(maps["conv2"].iloc[0]) == 16 * 10 * 10


def test_store_that_is_a_file_is_a_clear_error(workdir: Path):
    (workdir / "afile").write_text("not a folder")
    env_store = ["--store", str(workdir / "afile")]
    result = pathways("run", "small.toml", *env_store, cwd=workdir, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "a file is in the way" in result.stderr


def test_report_answers_the_three_questions(workdir: Path):
    text = pathways("report", "small", cwd=workdir).stdout
    for expected in (
        "From which layer",
        "Are the signatures",
        "What does an unseen class look like",
        "our novelty score (",
        "Stability across training seeds",
    ):
        assert expected in text, expected
    report = json.loads(pathways("report", "small", "--json", cwd=workdir).stdout)
    mlp = report["models"]["mlp"]
    assert mlp["question_1"][0]["class_a"] == 1 and mlp["question_1"][0]["class_b"] == 7
    assert {row["method"] for row in mlp["question_3"][0]["novelty"]} >= {
        "signature_knn_path",
        "signature_knn",
        "signature_path",
        "msp",
        "energy",
        "knn",
    }
    assert sum(mlp["question_3"][0]["predicted_as"].values()) == pytest.approx(1.0)
    run = workdir / "store" / "small"
    sig = pd.read_parquet(run / "signatures" / "mlp" / "signatures.parquet")
    assert set(sig["layer"]) == {"fc1", "fc2", "logit"} and set(sig["class"]) == {1, 3, 7}
    assignments = pd.read_parquet(run / "clusters" / "lenet5" / "assignments.parquet")
    assert (assignments["cluster"] >= 0).all() and set(assignments["layer"]) == {
        "conv1",
        "conv2",
        "conv3",
        "fc1",
        "logit",
    }
    embedding = pd.read_parquet(run / "embedding" / "mlp" / "embedding.parquet")
    assert len(embedding) == 180 * 3 and np.isfinite(embedding[["x", "y"]]).all().all()
    missing = pathways("report", "nothere", cwd=workdir, check=False)
    assert missing.returncode == 2 and "no run 'nothere'" in missing.stderr
