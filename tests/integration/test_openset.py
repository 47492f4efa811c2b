"""The open-set benchmark command, small: two of the fixed splits of 6 known and 4 unknown digits,
an MLP, through ``pathways benchmark openset``; cached on the second call."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pathways.analysis.novelty_scores import NOVELTY_SCORES
from pathways.experiment.openset import PROTOCOLS, split_classes

from _cli import experiment_folder, pathways

pytestmark = pytest.mark.slow  # runs whole experiments (see README, Development)

ARGS = ("benchmark", "openset", "--models", "mlp", "--splits", "2", "--epochs", "1")
SMALL = ("--samples-per-class", "40", "--bootstrap", "100")


def test_splits_are_seeded_partitions():
    for seed in range(5):
        known, unknown = split_classes(seed, 6)
        assert len(known) == 6 and sorted(known + unknown) == list(range(10))
        assert split_classes(seed, 6) == (known, unknown)
    assert len({tuple(split_classes(s, 6)[0]) for s in range(5)}) == 5
    mnist = PROTOCOLS["mnist"]  # the literature's fixed splits
    assert mnist.split(0) == ([2, 3, 4, 5, 8, 9], [0, 1, 6, 7])
    assert all(len(mnist.split(i)[0]) == 6 for i in range(mnist.splits))


def test_the_benchmark_runs_every_score_and_is_resumable(tmp_path: Path, data_dir: Path):
    experiment_folder(tmp_path, data_dir)
    first = pathways(*ARGS, *SMALL, cwd=tmp_path)
    folder = tmp_path / "store" / "openset"
    results = pd.read_parquet(folder / "results.parquet")
    assert sorted(results["split"].unique()) == [0, 1]
    methods = set(results["method"])
    assert {s for s in NOVELTY_SCORES if not NOVELTY_SCORES[s].per_layer} <= methods
    assert "mahalanobis:best-layer" in methods
    for split, group in results.groupby("split"):
        run = tmp_path / "store" / f"openset-mnist-{split}"
        known, unknown = PROTOCOLS["mnist"].split(int(split))
        samples = pd.read_parquet(run / "data" / "samples.parquet")
        seen = samples.groupby("label")["seen"].first()
        assert seen[seen].index.tolist() == known and seen[~seen].index.tolist() == unknown
        metrics = pd.read_parquet(run / "novelty/mlp/metrics.parquet").set_index("method")
        ours = group.set_index("method").loc["signature_knn_path"]
        assert ours["auroc"] == metrics.loc["signature_knn_path", "auroc"]
        assert ours["n_unseen"] == 4 * 8 and ours["n_trained"] == 6 * 8  # 20 % of 40 per class
        assert ours["auroc_low"] <= ours["auroc"] <= ours["auroc_high"]
    summary = pd.read_parquet(folder / "summary.parquet").set_index("method")
    assert (
        summary.loc["signature_knn_path", "mean_auroc"]
        == results.loc[results.method == "signature_knn_path", "auroc"].mean()
    )
    table = (folder / "summary.md").read_text()
    assert "### mnist, mlp (2 splits)" in table and "| signature_knn_path | ours |" in table
    assert table in first.stdout and "(" in first.stdout.splitlines()[-1]
    again = pathways(*ARGS, *SMALL, cwd=tmp_path)
    assert "(0 steps ran)" in again.stdout  # everything cached: resumable like a run
    bad = pathways("benchmark", "openset", "--protocol", "cifar", cwd=tmp_path, check=False)
    assert bad.returncode == 2 and "unknown open-set protocol 'cifar'" in bad.stderr
    too_many = pathways(*ARGS[:2], "--splits", "6", cwd=tmp_path, check=False)
    assert too_many.returncode == 2 and "protocol mnist has 5 fixed splits" in too_many.stderr
