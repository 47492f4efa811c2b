"""The open-set benchmark command, small: two of the fixed splits of 6 known and 4 unknown digits,
an MLP, through ``pathways benchmark openset``; cached on the second call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pathways.analysis.conformal import calibration_split, conformal_pvalues, decide, flag_novel
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


@pytest.fixture(scope="module")
def benchmark(tmp_path_factory: pytest.TempPathFactory, data_dir: Path):
    """The small benchmark, run once for this module: (its folder, the first call's output)."""
    tmp_path = tmp_path_factory.mktemp("openset")
    experiment_folder(tmp_path, data_dir)
    return tmp_path, pathways(*ARGS, *SMALL, cwd=tmp_path)


def test_the_benchmark_runs_every_score_and_is_resumable(benchmark):
    tmp_path, first = benchmark
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


def test_every_split_stores_flags_consistent_with_its_pvalues(benchmark):
    tmp_path, _ = benchmark
    results = pd.read_parquet(tmp_path / "store" / "openset" / "results.parquet")
    for split in (0, 1):
        folder = tmp_path / "store" / f"openset-mnist-{split}" / "novelty" / "mlp"
        scores = pd.read_parquet(folder / "scores.parquet")
        calibration = scores["role"] == "calibration"
        screened = scores["role"] == "screened"
        assert set(scores.loc[calibration | screened, "split"]) == {"test"}
        assert scores.loc[calibration, "seen"].all()
        ours = scores["signature_knn_path"].to_numpy()
        np.testing.assert_allclose(
            scores["pvalue"], conformal_pvalues(ours[calibration.to_numpy()], ours)
        )
        expected = flag_novel(scores.loc[screened, "pvalue"].to_numpy(), 0.1)
        assert (scores.loc[screened, "novel"].to_numpy() == expected).all()
        assert not scores.loc[~screened, "novel"].any()
        decisions = pd.read_parquet(folder / "decisions.parquet").set_index("method")
        row = decisions.loc["signature_knn_path"]
        assert row["flagged"] == scores["novel"].sum() and row["screened"] == screened.sum()
        mine = results[(results.split == split) & (results.method == "signature_knn_path")]
        assert mine["fdp"].iloc[0] == row["fdp"]
        reasons = pd.read_parquet(folder / "reasons.parquet")
        assert len(reasons) == len(scores) and reasons["layer"].isin(["fc1", "fc2", "fc3"]).all()
        np.testing.assert_allclose(reasons["statistic"], ours)


def test_the_false_discovery_rate_holds_over_redrawn_calibrations(benchmark):
    """The guarantee, on the benchmark's real scores: over 400 seeded calibration draws per split
    the mean share of trained-class samples among the flagged stays at or below the target —
    at or below π0 · α, within two standard errors — for ours and a baseline; p ≤ α without
    correction is no such promise, and flags more."""
    tmp_path, _ = benchmark
    alpha = 0.2  # the small runs have 24 calibration samples: p ≥ 1/25
    for split in (0, 1):
        scores = pd.read_parquet(
            tmp_path / "store" / f"openset-mnist-{split}" / "novelty" / "mlp" / "scores.parquet"
        )
        labels, seen = scores["label"].to_numpy(), scores["seen"].to_numpy()
        test = scores["split"].astype(str).to_numpy() == "test"
        for method in ("signature_knn_path", "knn"):
            fdps, flagged, loose = [], 0, 0
            for seed in range(400):
                calibration = calibration_split(labels, test & seen, 0.5, seed)
                screened = test & ~calibration
                _, flags, rows = decide(
                    {method: scores[method].to_numpy()}, calibration, screened, ~seen, alpha
                )
                fdps.append(rows[0]["fdp"])
                flagged += rows[0]["flagged"]
                loose += rows[0]["uncorrected_flagged"]
            fdps = np.array(fdps)
            assert flagged > 0  # the test measures flags, not silence
            # BH's false discovery rate is π0 · α (π0: the trained share of the screened) when
            # the trained samples' p-values are exchangeable, below the α it promises
            pi0 = (screened & seen).sum() / screened.sum()
            bound = pi0 * alpha + 2 * fdps.std(ddof=1) / np.sqrt(len(fdps))
            assert fdps.mean() <= bound, (method, fdps.mean(), pi0 * alpha)
            assert loose >= flagged


def test_the_user_network_protocol_runs_a_residual_cnn_by_factory(tmp_path: Path, data_dir: Path):
    """fashion-rgb: an RGB .npz made once from Fashion-MNIST (colour independent of the class)
    and a residual CNN named by factory, exactly as a user's network is."""
    experiment_folder(tmp_path, data_dir)
    args = ("benchmark", "openset", "--protocol", "fashion-rgb", "--splits", "1", "--epochs", "1")
    pathways(*args, "--samples-per-class", "30", "--bootstrap", "50", cwd=tmp_path)
    made = np.load(data_dir / "cache" / "fashion-rgb.npz")
    images, labels = made["images"], made["labels"]
    assert images.shape == (7000, 28, 28, 3) and np.bincount(labels).tolist() == [700] * 10
    tint = images.reshape(len(images), -1, 3).max(axis=1).astype(float)
    by_class = [tint[labels == c].mean(axis=0) for c in range(10)]
    assert np.ptp(by_class, axis=0).max() < 25  # no class has its own colour
    results = pd.read_parquet(tmp_path / "store" / "openset" / "results.parquet")
    assert set(results["model"]) == {"resnet"} and set(results["protocol"]) == {"fashion-rgb"}
    assert {"nac", "combood", "ash", "scale", "signature_knn_path"} <= set(results["method"])
    run = tmp_path / "store" / "openset-fashion-rgb-0"
    samples = pd.read_parquet(run / "data" / "samples.parquet")
    assert samples.groupby("label").size().eq(30).all()
    assert (run / "novelty" / "resnet" / "reasons.parquet").is_file()
